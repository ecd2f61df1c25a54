package core_test

import (
	"strings"
	"testing"

	"diorama/core"
)

func TestWorldValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(w *core.WorldSpec)
		wantErr string
	}{
		{"NoID", func(w *core.WorldSpec) { w.ID = "" }, "world: id is required"},
		{"BadTime", func(w *core.WorldSpec) { w.Start.Time = "yesterday" }, "want YYYY-MM-DDTHH:MM"},
		{"UnknownStart", func(w *core.WorldSpec) { w.Start.Location = "moon" }, `start.location "moon"`},
		{"ThreeBots", func(w *core.WorldSpec) {
			w.Characters = append(w.Characters, core.CharacterSpec{ID: "kit"})
		}, "at most 2 characters"},
		{"DuplicateID", func(w *core.WorldSpec) { w.Characters[1].ID = "mara" }, `character "mara": duplicate id`},
		{"SlotMissing", func(w *core.WorldSpec) { w.Characters[0].At.Slot = "roof" }, `slot "roof" does not exist`},
		{"SlotTaken", func(w *core.WorldSpec) { w.Characters[1].At.Slot = "driver" }, `slot "driver" of "car" is taken by "mara"`},
		{"EdgeUnknown", func(w *core.WorldSpec) { w.Relationships[0].To = "ghost" }, `unknown character "ghost"`},
		{"EdgeRange", func(w *core.WorldSpec) { w.Relationships[0].Affinity = 300 }, "affinity 300 out of range"},
		{"ContainerLocation", func(w *core.WorldSpec) { w.Containers[0].Location = "moon" }, `container "car": unknown location "moon"`},
		{"ReservedGroup", func(w *core.WorldSpec) { w.Locations[0].ID = "group" }, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := loadWorld(t)
			tt.mutate(w)
			errs := w.Validate()
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.wantErr) {
				t.Fatalf("errors %q do not contain %q", all, tt.wantErr)
			}
		})
	}
	if errs := loadWorld(t).Validate(); len(errs) != 0 {
		t.Fatalf("fixture invalid: %v", errs)
	}
}
