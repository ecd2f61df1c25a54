package cards

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// charxCard reads card.json from a CHARX (zip) file. It reads at most
// MaxJSON bytes of it whatever its header claims, so a zip bomb costs
// nothing; assets are never decompressed.
func charxCard(b []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("CHARX: not a readable zip: %v", err)
	}
	var card *zip.File
	for _, f := range zr.File {
		name := strings.TrimPrefix(f.Name, "./")
		if name == "card.json" {
			card = f
			break
		}
	}
	if card == nil {
		return nil, fmt.Errorf("CHARX without card.json at its root: %w", ErrNoCard)
	}
	if card.UncompressedSize64 > MaxJSON {
		return nil, fmt.Errorf("CHARX card.json: %w: %s uncompressed (at most %s)", ErrTooLarge, size(int64(min(card.UncompressedSize64, 1<<62))), size(MaxJSON))
	}
	rc, err := card.Open()
	if err != nil {
		return nil, fmt.Errorf("CHARX card.json: %v", err)
	}
	defer rc.Close()
	js, err := io.ReadAll(io.LimitReader(rc, MaxJSON+1))
	if len(js) > MaxJSON {
		return nil, fmt.Errorf("CHARX card.json: %w: more than %s uncompressed (a zip bomb?)", ErrTooLarge, size(MaxJSON))
	}
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) {
			return nil, errors.New("CHARX card.json: corrupt (checksum mismatch)")
		}
		return nil, fmt.Errorf("CHARX card.json: %v", err)
	}
	return js, nil
}
