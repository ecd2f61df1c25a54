package lua

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"diorama/stdlib"
)

// Limits on what Load reads.
const (
	maxFileSize  = 1 << 20
	maxPackSize  = 8 << 20
	maxPackFiles = 500
)

// EntryFile is the file a pack starts from.
const EntryFile = "pack.lua"

var (
	reModule  = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`)
	reCompile = regexp.MustCompile(`(?s)^compile error near line\((\d+)\) (.+?): (.*)$`)
	reTrace   = regexp.MustCompile(`(\S+?\.lua):(\d+):`)
)

// Load reads the pack in dir, runs its top-level code in a fresh sandboxed
// VM and validates what it declares. Every problem found is returned at
// once in a *LoadError, each at the file:line an author can fix.
func Load(dir string, opts Options) (*Pack, error) {
	files, hash, err := readPack(dir)
	if err != nil {
		return nil, err
	}
	return load(dir, opts, files, hash)
}

func load(dir string, opts Options, files map[string][]byte, hash string) (*Pack, error) {
	opts = opts.withDefaults()
	p := &Pack{
		dir: dir, opts: opts, files: files, hash: hash,
		hooks: map[string][]*handler{}, prompts: map[string]*handler{}, eventByID: map[string]*eventDecl{},
	}
	p.newVM()
	entry := p.chunkName(EntryFile)
	p.decl = newDeclarations()
	fn, perr := p.compile(EntryFile)
	if perr != nil {
		p.L.Close()
		return nil, &LoadError{Problems: []Problem{*perr}}
	}
	fn.Env = p.env
	p.loading = true
	cs := &callState{rng: newRand(0, "load")}
	_, ce := p.invoke(context.Background(), cs, opts.LoadTimeout, fn, 0)
	p.loading = false
	p.frozen = true
	if ce != nil {
		at := ce.position(entry)
		at.Msg = ce.msg
		if _, _, rest, ok := splitWhere(ce.msg); ok {
			at.Msg = rest
		}
		if errors.Is(ce.cause, ErrTimeout) || errors.Is(ce.cause, ErrMemory) {
			at.Msg = "loading the pack: " + at.Msg
		}
		p.decl.problems = append(p.decl.problems, at)
	} else {
		p.validate(entry)
	}
	if len(p.decl.problems) > 0 {
		ps := p.decl.problems
		sortProblems(ps)
		p.L.Close()
		return nil, &LoadError{Problems: ps}
	}
	spec := p.decl.spec
	p.world = &spec
	p.decl = nil
	return p, nil
}

// position returns where a failed call failed: the position in its message,
// else the innermost pack position in its traceback, else the fallback.
func (ce *callErr) position(fallback string) Problem {
	if file, line, _, ok := splitWhere(ce.msg); ok {
		return Problem{File: file, Line: line}
	}
	if m := reTrace.FindStringSubmatch(ce.trace); m != nil {
		n, _ := strconv.Atoi(m[2])
		return Problem{File: m[1], Line: n}
	}
	return Problem{File: fallback}
}

// newRand returns the PRNG of one call: the same seed and stream name give
// the same sequence on every run and every platform (PCG).
func newRand(seed uint64, stream string) *rand.Rand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(stream); i++ {
		h ^= uint64(stream[i])
		h *= 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}

// chunkName is the name a pack file's code is compiled under, which every
// Lua error message starts with: the pack folder as given, joined with the
// file's path.
func (p *Pack) chunkName(rel string) string {
	return filepath.Join(p.dir, filepath.FromSlash(rel))
}

// compile compiles a pack file (source only: gopher-lua has no bytecode
// loader, and there is no load() in the sandbox).
func (p *Pack) compile(rel string) (*glua.LFunction, *Problem) {
	src, ok := p.files[rel]
	name := p.chunkName(rel)
	if !ok {
		return nil, &Problem{File: name, Msg: "missing: a pack is a folder with a pack.lua"}
	}
	return compileChunk(p.L, src, name)
}

func compileChunk(L *glua.LState, src []byte, name string) (*glua.LFunction, *Problem) {
	if pr := syntaxLevelProblem(src, name); pr != nil {
		return nil, pr // before parsing: the parser is what would blow up
	}
	fn, err := L.Load(bytes.NewReader(src), name)
	if err == nil {
		return fn, nil
	}
	pr := syntaxProblem(luaErrorText(err), name, src)
	pr.Msg = clearMsg(pr.Msg) // the token near a syntax error may be a control character (a binary chunk)
	return nil, &pr
}

// syntaxProblem turns a gopher-lua compile error into a Problem.
func syntaxProblem(msg, name string, src []byte) Problem {
	msg = strings.TrimSpace(msg)
	if m := reSyntax.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[2])
		what := m[5]
		if m[4] != "" {
			what += " near '" + m[4] + "'"
		}
		return Problem{File: m[1], Line: n, Msg: what}
	}
	if m := reSyntaxEOF.FindStringSubmatch(msg); m != nil {
		lines := bytes.Count(src, []byte("\n"))
		if len(src) > 0 && src[len(src)-1] != '\n' {
			lines++
		}
		return Problem{File: m[1], Line: max(lines, 1), Msg: m[2] + " at the end of the file (an unclosed function, table, string or 'end' missing?)"}
	}
	if m := reCompile.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{File: m[2], Line: n, Msg: m[3]}
	}
	return Problem{File: name, Msg: msg}
}

// readPack reads every .lua file of the pack folder (tests/ and hidden
// folders excluded: they are not rules) and hashes them.
func readPack(dir string) (map[string][]byte, string, error) {
	fail := func(file, format string, args ...any) (map[string][]byte, string, error) {
		return nil, "", &LoadError{Problems: []Problem{{File: file, Msg: fmt.Sprintf(format, args...)}}}
	}
	info, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(dir, "no such pack folder")
		}
		return fail(dir, "%v", err)
	}
	if !info.IsDir() {
		return fail(dir, "not a folder: a pack is a folder with a pack.lua")
	}
	files := map[string][]byte{}
	total := 0
	var probs []Problem
	root := os.DirFS(dir)
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, Problem{File: filepath.Join(dir, name), Msg: err.Error()})
			return nil
		}
		if d.IsDir() {
			if name != "." && (strings.HasPrefix(d.Name(), ".") || name == "tests") {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(name) != ".lua" || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !d.Type().IsRegular() {
			probs = append(probs, Problem{File: filepath.Join(dir, name), Msg: "not a regular file (symlinks are not followed: a pack must be self-contained)"})
			return nil
		}
		if len(files) >= maxPackFiles {
			probs = append(probs, Problem{File: filepath.Join(dir, name), Msg: fmt.Sprintf("too many .lua files (limit %d)", maxPackFiles)})
			return fs.SkipAll
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			probs = append(probs, Problem{File: filepath.Join(dir, name), Msg: err.Error()})
			return nil
		}
		if len(b) > maxFileSize {
			probs = append(probs, Problem{File: filepath.Join(dir, name), Msg: fmt.Sprintf("file too large (%s, limit %s)", sizeString(int64(len(b))), sizeString(maxFileSize))})
			return nil
		}
		total += len(b)
		if total > maxPackSize {
			probs = append(probs, Problem{File: filepath.Join(dir, name), Msg: fmt.Sprintf("pack too large (limit %s of Lua)", sizeString(maxPackSize))})
			return fs.SkipAll
		}
		files[name] = b
		return nil
	})
	if err != nil {
		probs = append(probs, Problem{File: dir, Msg: err.Error()})
	}
	if len(probs) > 0 {
		return nil, "", &LoadError{Problems: probs}
	}
	if _, ok := files[EntryFile]; !ok {
		return fail(filepath.Join(dir, EntryFile), "missing: a pack is a folder with a pack.lua")
	}
	return files, hashFiles(files), nil
}

func hashFiles(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// require loads a module once per pack: "std.NAME" from the embedded
// stdlib (in its own global environment, its table read-only to the pack),
// any other name from the pack folder ("lib.util" is lib/util.lua), sharing
// the pack's globals. Names are plain dotted identifiers: no paths, no "..".
func (p *Pack) require(L *glua.LState) int {
	name := L.CheckString(1)
	if v, ok := p.modules[name]; ok {
		L.Push(v)
		return 1
	}
	if !reModule.MatchString(name) {
		L.RaiseError("require %q: a module name is a dotted name like \"places\", \"lib.util\" or \"std.helpers\" (no paths, no \"..\")", name)
	}
	if p.inflight[name] {
		L.RaiseError("require %q: circular require (the module is still loading)", name)
	}
	var (
		fn  *glua.LFunction
		env = p.env
		std = strings.HasPrefix(name, "std.")
	)
	if std {
		rel := strings.ReplaceAll(strings.TrimPrefix(name, "std."), ".", "/") + ".lua"
		src, err := fs.ReadFile(stdlib.FS, rel)
		if err != nil {
			L.RaiseError("require %q: no such stdlib module (stdlib has: %s)", name, strings.Join(stdModules(), ", "))
		}
		var pr *Problem
		if fn, pr = compileChunk(L, src, "stdlib/"+rel); pr != nil {
			L.Error(glua.LString(pr.String()), 0)
		}
		env = p.newEnv()
	} else {
		rel := strings.ReplaceAll(name, ".", "/") + ".lua"
		if _, ok := p.files[rel]; !ok {
			if strings.HasPrefix(rel, "tests/") {
				L.RaiseError("require %q: tests/ holds the pack's tests, not rules", name)
			}
			L.RaiseError("require %q: no file %s in the pack (modules load from the pack folder, or std.NAME from the stdlib)", name, p.chunkName(rel))
		}
		var pr *Problem
		if fn, pr = p.compile(rel); pr != nil {
			L.Error(glua.LString(pr.String()), 0)
		}
	}
	fn.Env = env
	p.inflight[name] = true
	defer delete(p.inflight, name)
	if std {
		// A stdlib module may set its own globals while it loads, even
		// when a hook requires it after the pack has loaded.
		data := p.dataOf(env)
		p.thawed[data] = true
		defer delete(p.thawed, data)
	}
	L.Push(fn)
	L.Push(glua.LString(name))
	L.Call(1, 1)
	v := L.Get(-1)
	L.Pop(1)
	switch t := v.(type) {
	case *glua.LNilType:
		v = glua.LTrue
	case *glua.LTable:
		if std {
			v = p.freeze(t, p.libRO(name), map[*glua.LTable]*glua.LTable{})
		}
	}
	p.modules[name] = v
	L.Push(v)
	return 1
}

// freeze returns a read-only snapshot of t for the pack: a proxy over a
// copy of t in which nested tables are frozen too. The module's own
// functions keep working on the module's real tables.
func (p *Pack) freeze(t *glua.LTable, newindex *glua.LFunction, memo map[*glua.LTable]*glua.LTable) *glua.LTable {
	if p.dataOf(t) != nil {
		return t
	}
	if pr := memo[t]; pr != nil {
		return pr
	}
	shadow := p.L.CreateTable(t.Len(), 0)
	shadow.Metatable = t.Metatable
	pr := p.readOnly(shadow, newindex)
	memo[t] = pr
	t.ForEach(func(k, v glua.LValue) {
		if vt, ok := v.(*glua.LTable); ok {
			v = p.freeze(vt, newindex, memo)
		}
		shadow.RawSet(k, v)
	})
	return pr
}

// stdModules lists the stdlib modules as require names.
func stdModules() []string {
	names, _ := fs.Glob(stdlib.FS, "*.lua")
	for i, n := range names {
		names[i] = "std." + strings.TrimSuffix(n, ".lua")
	}
	return names
}
