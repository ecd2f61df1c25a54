package lua_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"diorama/lua"
)

func TestRunTests(t *testing.T) {
	rep, err := lua.RunTests(context.Background(), "testdata/packtest", lua.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 4 || rep.Failed != 3 {
		for _, r := range rep.Results {
			t.Log(r)
		}
		t.Fatalf("got %d passed, %d failed; want 4, 3", rep.Passed, rep.Failed)
	}
	want := map[string]string{
		"a wrong value":         `testdata/packtest/tests/fail_test.lua:2: test "a wrong value": expected "cheerful", got "tired"`,
		"no reply queued":       `testdata/packtest/tests/fail_test.lua:6: test "no reply queued": t:say("Mara?"): turn not saved (your line is kept): Mara's reply: scripted: no reply queued for "mara"`,
		"an uncaught rejection": `testdata/packtest/tests/fail_test.lua:10: test "an uncaught rejection": rejected: drop: item: item not held`,
	}
	for _, r := range rep.Results {
		w, ok := want[r.Name]
		if !ok {
			continue
		}
		if !strings.HasPrefix(r.String(), w) {
			t.Errorf("got  %s\nwant %s", r.String(), w)
		}
	}
}

func TestRunTestsFilter(t *testing.T) {
	rep, err := lua.RunTests(context.Background(), "testdata/packtest", lua.TestOptions{Run: regexp.MustCompile("secret")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 1 || rep.Failed != 0 {
		t.Fatalf("got %d passed, %d failed; want 1, 0", rep.Passed, rep.Failed)
	}
}

func TestRunTestsBrokenPack(t *testing.T) {
	if _, err := lua.RunTests(context.Background(), "testdata/syntax", lua.TestOptions{}); err == nil {
		t.Fatal("a pack that does not load ran its tests")
	}
}
