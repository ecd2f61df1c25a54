package main

import (
	"context"
	"fmt"
	"regexp"

	"diorama/lua"
)

func init() {
	register(&command{
		name:    "test",
		usage:   "PACK... [--run PATTERN] [-v]",
		summary: "run a pack's tests headless with the scripted backend",
		run:     runTest,
	})
}

func runTest(e *env, args []string) error {
	fs := newFlags(e, "test")
	pattern := fs.String("run", "", "run only tests whose name matches this regular expression")
	verbose := fs.Bool("v", false, "also list the tests that pass")
	packs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(packs) == 0 {
		return &exitError{code: 2, msg: "give a pack folder, e.g. diorama test worlds/night_drive"}
	}
	opts := lua.TestOptions{}
	if *pattern != "" {
		re, err := regexp.Compile(*pattern)
		if err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("--run: %v", err)}
		}
		opts.Run = re
	}
	passed, failed, broken := 0, 0, 0
	for _, dir := range packs {
		rep, err := lua.RunTests(context.Background(), dir, opts)
		if rep != nil {
			for _, r := range rep.Results {
				if !r.Passed || *verbose {
					fmt.Fprintln(e.stdout, r.String())
				}
			}
			passed += rep.Passed
			failed += rep.Failed
		}
		if err != nil {
			broken++
			fmt.Fprintf(e.stdout, "%s: %s\n", dir, oneLine(err.Error()))
		}
	}
	fmt.Fprintf(e.stdout, "%d passed, %d failed\n", passed, failed+broken)
	if failed+broken > 0 {
		return errSilent
	}
	return nil
}
