package core

// Memory kinds: what a memory-making event becomes.
const (
	KindEpisodic = "episodic" // an utterance (line_said)
	KindSemantic = "semantic" // a learned fact (fact_noted)
	KindSummary  = "summary"  // a per-POV scene summary (summary_written)
)

// MemoryTypes are the event types that make a memory, the memory's id
// being the event's seq and its witness mask the event's.
var MemoryTypes = []string{TypeFactNoted, TypeLineSaid, TypeSummaryWritten}

// IsMemoryType reports whether events of typ make a memory.
func IsMemoryType(typ string) bool {
	return typ == TypeFactNoted || typ == TypeLineSaid || typ == TypeSummaryWritten
}

// MemoryOf returns the memory a decoded event payload makes: its kind, who
// said or knows it, and its text; ok is false for other payloads.
func MemoryOf(p any) (kind, who, text string, ok bool) {
	switch p := p.(type) {
	case *LineSaid:
		return KindEpisodic, p.Who, p.Text, true
	case *FactNoted:
		return KindSemantic, p.Who, p.Fact, true
	case *SummaryWritten:
		return KindSummary, p.Who, p.Text, true
	}
	return "", "", "", false
}
