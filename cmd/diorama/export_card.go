package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"diorama/core/cards"
	"diorama/lua"
)

func init() {
	register(&command{
		name:    "export-card",
		usage:   "--pack PACK --character ID [-o FILE.json|FILE.png] [--image PORTRAIT.png]",
		summary: "write a pack's character as a V2 character card (JSON, or PNG when -o ends in .png)",
		run:     runExportCard,
	})
}

func runExportCard(e *env, args []string) error {
	flags := newFlags(e, "export-card")
	pack := flags.String("pack", "", "world pack folder")
	id := flags.String("character", "", "the character's id")
	out := flags.String("o", "", "file to write (default: the JSON to stdout); .png writes a PNG card")
	image := flags.String("image", "", "a PNG portrait to carry the card (with -o FILE.png; default: a blank 1x1 image)")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *pack == "" || *id == "" {
		return &exitError{code: 2, msg: "--pack PACK and --character ID are required"}
	}
	asPNG := strings.EqualFold(filepath.Ext(*out), ".png")
	if *image != "" && !asPNG {
		return &exitError{code: 2, msg: "--image needs -o FILE.png"}
	}
	p, err := lua.Load(*pack, lua.Options{})
	if err != nil {
		return fmt.Errorf("load pack %s: %w", *pack, err)
	}
	w := p.World()
	p.Close()
	x := cards.Export{World: w, Character: *id}
	// The rest of an imported card: the table its module returns, read as
	// data (the pack's code does not run outside the sandbox), and the card
	// as it was imported.
	for _, rel := range []string{filepath.Join("characters", *id+".lua"), *id + ".lua"} {
		src, err := os.ReadFile(filepath.Join(*pack, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		data, err := cards.ParseReturnTable(src)
		if errors.Is(err, cards.ErrNoTable) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(*pack, rel), err)
		}
		x.Data = data
		break
	}
	if b, err := os.ReadFile(filepath.Join(*pack, "characters", *id+".card.json")); err == nil {
		x.Original = b
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	js, err := cards.ExportV2(x)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := e.stdout.Write(js)
		return err
	}
	body := js
	if asPNG {
		var img []byte
		if *image != "" {
			if img, err = os.ReadFile(*image); err != nil {
				return err
			}
		}
		if body, err = cards.EncodePNG(js, img); err != nil {
			return fmt.Errorf("%s: %w", *image, err)
		}
	}
	if err := writeCardFile(*out, body); err != nil {
		return err
	}
	kind := "JSON"
	if asPNG {
		kind = "PNG"
	}
	fmt.Fprintf(e.stdout, "wrote %s: %q as a chara_card_v2 %s card\n", *out, *id, kind)
	return nil
}

// writeCardFile writes a file through a temporary file beside it, so a
// failure never leaves half a card.
func writeCardFile(path string, body []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".diorama-card-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
