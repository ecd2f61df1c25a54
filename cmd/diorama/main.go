// Command diorama is the one binary of the diorama roleplay engine: it
// creates saves, applies commands, shows state and the log, checks and runs
// world packs, and hosts the terminal shell.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"diorama/cmd/internal/gctune"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. Each lives in its own file and registers itself
// from an init function.
type command struct {
	name    string
	usage   string // one line: arguments and flags
	summary string // one line: what it does
	run     func(env *env, args []string) error
}

// env is what a subcommand may touch: its output streams and environment.
type env struct {
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
	getenv func(string) string
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("diorama: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// exitError carries a specific exit code (a test that failed exits 1
// without being a usage error).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// errSilent exits 1 without printing anything more (the command already
// reported what went wrong).
var errSilent = &exitError{code: 1}

func main() {
	gctune.Apply()
	os.Exit(run(&env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}, os.Args[1:]))
}

// run executes one invocation and returns the process exit code. It never
// lets a panic reach the user as a stack trace.
func run(e *env, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "diorama: internal error: %v (please report this)\n", r)
			code = 2
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := commands[args[1]]; c != nil {
				fmt.Fprintf(e.stdout, "usage: diorama %s %s\n\n%s\n", c.name, c.usage, c.summary)
				return 0
			}
		}
		usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := commands[args[0]]
	if c == nil {
		fmt.Fprintf(e.stderr, "diorama: unknown command %q (see 'diorama help')\n", args[0])
		return 2
	}
	err := c.run(e, args[1:])
	if err == nil {
		return 0
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.msg != "" {
			fmt.Fprintf(e.stderr, "diorama %s: %s\n", c.name, oneLine(xe.msg))
		}
		return xe.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(e.stderr, "diorama %s: %s\n", c.name, oneLine(err.Error()))
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "diorama: a local-first roleplay engine that treats fiction as a simulation")
	fmt.Fprintln(w, "\nusage: diorama COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n'diorama help COMMAND' shows a command's flags.")
}

// oneLine folds an error message onto one line: users get one clear line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// newFlags returns a flag set for a subcommand that reports its own usage
// and returns errors instead of exiting.
func newFlags(e *env, c string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	// Parse errors become one line through exitError; -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	helpOf[fs] = func() {
		if cmd := commands[c]; cmd != nil {
			fmt.Fprintf(e.stderr, "usage: diorama %s %s\n", cmd.name, cmd.usage)
		}
		fs.SetOutput(e.stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// helpOf prints a flag set's usage, for -h.
var helpOf = map[*flag.FlagSet]func(){}

// parseFlags parses flags that may appear before or after positional
// arguments ("diorama do --db s.db '{...}'" and "diorama check PACK --json"
// both work) and returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if help := helpOf[fs]; help != nil {
					help()
				}
				return nil, err
			}
			return nil, &exitError{code: 2, msg: fmt.Sprintf("%v (see 'diorama help %s')", err, fs.Name())}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func init() {
	register(&command{
		name:    "version",
		usage:   "",
		summary: "print the version",
		run: func(e *env, args []string) error {
			fmt.Fprintf(e.stdout, "diorama %s\n", version)
			return nil
		},
	})
}
