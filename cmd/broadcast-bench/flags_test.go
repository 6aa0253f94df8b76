//go:build linux

package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestHelpIsNotAnError(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		_, err := parseFlags([]string{arg})
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("parseFlags(%s) = %v, want flag.ErrHelp", arg, err)
		}
		var out strings.Builder
		_, err = parseReportArgs([]string{arg}, &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("report %s = %v, want flag.ErrHelp", arg, err)
		}
		if !strings.HasPrefix(out.String(), "usage: broadcast-bench report FILE...") {
			t.Errorf("report %s printed %q", arg, out.String())
		}
	}
}

func TestBadFlagIsAFlagError(t *testing.T) {
	var bad *flagError
	if _, err := parseFlags([]string{"-no-such-flag"}); !errors.As(err, &bad) {
		t.Errorf("parseFlags(-no-such-flag) = %v, want a *flagError", err)
	}
	if _, err := parseReportArgs(nil, io.Discard); !errors.As(err, &bad) {
		t.Errorf("report without files = %v, want a *flagError", err)
	}
	if _, err := parseFlags([]string{"-scenario", "s9"}); err == nil || errors.As(err, &bad) {
		t.Errorf("parseFlags(-scenario s9) = %v, want a plain error", err)
	}
}

func TestReportFiles(t *testing.T) {
	files, err := parseReportArgs([]string{"a.jsonl", "b.jsonl"}, io.Discard)
	if err != nil || !slices.Equal(files, []string{"a.jsonl", "b.jsonl"}) {
		t.Fatalf("parseReportArgs = %v, %v", files, err)
	}
}
