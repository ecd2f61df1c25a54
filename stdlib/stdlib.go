// Package stdlib holds the Lua code shipped with the engine. Packs load a
// module with require("std.NAME"), which reads NAME.lua from FS. The LuaCATS
// annotations under types/ are for lua-language-server only and are not
// embedded.
package stdlib

import "embed"

// FS holds the stdlib modules (*.lua at the top of this folder).
//
//go:embed *.lua
var FS embed.FS
