// Package lua is the sandboxed Lua runtime for world packs: it loads a pack
// folder into its own VM, turns its declarations into a core.WorldSpec, and
// runs its hooks, story-event conditions, time-skip rules and prompt
// templates under a deadline and a memory cap. Lua proposes, Go disposes:
// hooks see a read-only view of the state and return commands, which the
// engine validates again when it commits them.
//
// # The pack's environment
//
// Constructors (only while the pack loads; each returns the id it declared):
// world{}, player{}, character{}, location{}, container{}, relationship(),
// group{}, story_event{}, timeskip(fn), prompt(NAME, fn), on(HOOK, fn).
// They are strict: an unknown field, a wrong type or a missing id is a
// Problem at the file:line of the call, and loading goes on so one check
// reports everything. story_event's promote lists take strings or tables
// { item|fact = ..., to = ID }.
//
// Also there: require (pack modules by dotted name, "std.NAME" from the
// stdlib), log(...) and print(...) (lines for Pack.Logs), clock (parse,
// format, add, diff on world times), math.random (the call's seeded PRNG),
// and the safe parts of the base, string, table and math libraries.
//
// Hooks get s, a read-only view of the state: s.entities[ID] (id, name,
// bot, description, persona, speech, appearance, mood, goals, status,
// location, container, slot, doing, holding, attention; empty strings are
// nil), s.locations, s.containers[ID] (id, name, location, slots, occupants),
// s.events[ID] (id, title, status, props, promoted, gist, at),
// s.threads[ID], s.group, s.cast, s.world, s.now, s.minutes, s.scene,
// s.turn, s.last_skip, s.edge(FROM, TO), s.here(ID), s.occupant(C, SLOT),
// s.holder(ITEM), s.random(...), and s.act{ op = ..., ... } / s.act.OP{ ... }
// to issue commands (validated at once; a refusal raises the core's reason
// at the caller's file:line). Reads of s see the acts already accepted.
//
// # The sandbox
//
// No io, os, debug, package, load/loadstring/loadfile/dofile, string.dump,
// collectgarbage, getfenv/setfenv, newproxy, module, coroutine or
// _printregs; naming one says it is not available. string, table, math,
// clock and every stdlib module are read-only to the pack, and so is the
// string metatable. The pack's globals are frozen once it has loaded, so
// hooks cannot keep state in them (determinism: the log alone decides).
// tostring shows no addresses. Every call runs under a deadline on the CPU
// time it uses (Linux; wall time elsewhere) with a wall-clock backstop, and
// a memory cap on the growth of the live heap; builtins that could allocate
// or loop without bound (string.rep, format, gsub, find, match, gmatch,
// table.concat, unpack, string.byte, table.sort) are capped or budgeted.
// A runaway call fails with a *HookError naming the handler, its message one
// line (control characters escaped) and clipped; the Pack stays usable.
// Source nested more than maxSyntaxLevel deep is refused before it is
// parsed, since the parser and compiler recurse. TestSandboxSuite is the
// table of escape and exhaustion attempts that holds all of this.
//
// A Pack owns one gopher-lua LState; every call into it is serialised by a
// mutex. Hot reload (Watch) loads a fresh Pack in a fresh VM and hands it
// over; the old one keeps running until the host swaps.
package lua
