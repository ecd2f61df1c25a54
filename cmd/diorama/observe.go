package main

import (
	"fmt"

	"diorama/core"
)

// coreObserver prints replies as they stream: "Name: text…" one bot per
// line. With quiet, nothing is printed (the caller prints JSON).
func coreObserver(e *env, quiet bool, st *core.State) core.TurnObserver {
	if quiet {
		return core.TurnObserver{}
	}
	name := func(id string) string {
		if en := st.Entities[id]; en != nil {
			return en.Name
		}
		return id
	}
	return core.TurnObserver{
		Speaker: func(id string) { fmt.Fprintf(e.stdout, "%s: ", name(id)) },
		Token:   func(id, chunk string) { fmt.Fprint(e.stdout, chunk) },
		Reply:   func(id, text string) { fmt.Fprintln(e.stdout) },
		HookErr: func(hook string, err error) {
			fmt.Fprintf(e.stderr, "diorama turn: hook %s failed: %s\n", hook, oneLine(err.Error()))
		},
	}
}
