//go:build race

package lua_test

const raceEnabled = true
