// Package storetest helps tests in any package use a real save: a small
// world and a store created under the test's temporary directory.
package storetest

import (
	"path/filepath"
	"testing"

	"diorama/core"
	"diorama/store"
)

// World returns a small valid world: the player "you" and the bots "mara"
// and "jun" in the car at "road" (slots driver, passenger, back_left,
// back_right), the locations "road", "gas_station" and "shop", and a
// planned story event "picnic" owning the props "basket" and "blanket".
func World() *core.WorldSpec {
	return &core.WorldSpec{
		ID:             "night_drive_test",
		Title:          "Night drive (test)",
		Version:        "1",
		Start:          core.StartSpec{Location: "road", Time: "2024-06-01T21:00"},
		MinutesPerTurn: 2,
		Player:         core.CharacterSpec{ID: "you", Name: "You", At: &core.AtSpec{Container: "car", Slot: "back_left"}},
		Characters: []core.CharacterSpec{
			{ID: "mara", Name: "Mara", Persona: "dry, watchful", Mood: "tired", Goals: []string{"reach the coast"}, At: &core.AtSpec{Container: "car", Slot: "driver"}},
			{ID: "jun", Name: "Jun", Persona: "restless, funny", Mood: "bored", Holding: []string{"map"}, At: &core.AtSpec{Container: "car", Slot: "passenger"}},
		},
		Locations: []core.LocationSpec{
			{ID: "road", Name: "The coast road"},
			{ID: "gas_station", Name: "Gas station"},
			{ID: "shop", Name: "Gas station shop"},
		},
		Containers: []core.ContainerSpec{{
			ID: "car", Name: "Mara's car", Location: "road",
			Slots: map[string]core.SlotSpec{
				"driver":     {Sees: []string{"road"}, Reaches: []string{"wheel", "radio"}},
				"passenger":  {Sees: []string{"road"}, Reaches: []string{"radio", "glovebox"}},
				"back_left":  {Sees: []string{"road"}},
				"back_right": {Sees: []string{"road"}},
			},
		}},
		Relationships: []core.EdgeSpec{
			{From: "mara", To: "jun", Affinity: 20, Trust: 10, Note: "old friends"},
			{From: "jun", To: "you", Affinity: 5},
		},
		Group:       &core.GroupSpec{Cohesion: 10, Note: "a trip planned for months"},
		StoryEvents: []core.StoryEventSpec{{ID: "picnic", Title: "Picnic at the lookout", Props: []string{"basket", "blanket"}}},
	}
}

// MustCreate creates a save for world (World() if nil) in tb's temporary
// directory and closes it when the test ends.
func MustCreate(tb testing.TB, world *core.WorldSpec) *store.Store {
	tb.Helper()
	if world == nil {
		world = World()
	}
	s, err := store.Create(filepath.Join(tb.TempDir(), "save.db"), world)
	if err != nil {
		tb.Fatalf("create save: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close save: %v", err)
		}
	})
	return s
}
