package core_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"diorama/core"
)

// loadWorld reads the JSON world fixture shared by core's tests.
func loadWorld(tb testing.TB) *core.WorldSpec {
	tb.Helper()
	b, err := os.ReadFile("testdata/world.json")
	if err != nil {
		tb.Fatal(err)
	}
	var w core.WorldSpec
	if err := json.Unmarshal(b, &w); err != nil {
		tb.Fatal(err)
	}
	return &w
}

// mustEngine returns an engine over an in-memory log of the fixture world.
func mustEngine(tb testing.TB) (*core.Engine, *core.MemLog) {
	tb.Helper()
	log, err := core.NewMemLog(loadWorld(tb))
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := core.NewEngine(context.Background(), log, log, "main")
	if err != nil {
		tb.Fatal(err)
	}
	return eng, log
}

// mustDo applies commands given as JSON and fails the test on rejection.
func mustDo(tb testing.TB, eng *core.Engine, cmds ...string) {
	tb.Helper()
	for _, js := range cmds {
		c, err := core.ParseCommand([]byte(js))
		if err != nil {
			tb.Fatalf("parse %s: %v", js, err)
		}
		if _, err := eng.Do(context.Background(), c); err != nil {
			tb.Fatalf("do %s: %v", js, err)
		}
	}
}
