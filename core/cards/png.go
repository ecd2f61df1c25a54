package cards

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngChunk is one chunk of a PNG file.
type pngChunk struct {
	typ  string
	data []byte
}

// pngChunks splits a PNG into its chunks, stopping at IEND. CRCs are not
// checked (editors rewrite text chunks carelessly); lengths are.
func pngChunks(b []byte) ([]pngChunk, error) {
	if !bytes.HasPrefix(b, pngSignature) {
		return nil, errors.New("not a PNG file")
	}
	var out []pngChunk
	for p := len(pngSignature); ; {
		if p == len(b) {
			return out, errors.New("truncated PNG: no IEND chunk")
		}
		if len(b)-p < 12 {
			return out, fmt.Errorf("truncated PNG: a chunk header at byte %d is cut off", p)
		}
		n := binary.BigEndian.Uint32(b[p:])
		typ := string(b[p+4 : p+8])
		if uint64(n) > uint64(len(b)-p-12) {
			return out, fmt.Errorf("truncated PNG: chunk %q at byte %d claims %d bytes, the file has %d left", printable(typ), p, n, len(b)-p-12)
		}
		out = append(out, pngChunk{typ: typ, data: b[p+8 : p+8+int(n)]})
		p += 12 + int(n)
		if typ == "IEND" {
			return out, nil
		}
	}
}

// pngCard finds the card in a PNG: the tEXt chunk "ccv3" if there is one,
// else "chara" (keywords matched case-insensitively), base64-decoded.
func pngCard(b []byte) (js []byte, keyword string, err error) {
	chunks, perr := pngChunks(b)
	var found = map[string][]byte{}
	for _, c := range chunks {
		if c.typ != "tEXt" {
			continue
		}
		i := bytes.IndexByte(c.data, 0)
		if i < 0 {
			continue
		}
		kw := strings.ToLower(string(c.data[:i]))
		if (kw == "ccv3" || kw == "chara") && found[kw] == nil {
			found[kw] = c.data[i+1:]
		}
	}
	for _, kw := range []string{"ccv3", "chara"} {
		text, ok := found[kw]
		if !ok {
			continue
		}
		if base64.StdEncoding.DecodedLen(len(text)) > MaxJSON+4 {
			return nil, kw, fmt.Errorf("PNG chunk %q: %w: %s of base64 (at most %s of JSON)", kw, ErrTooLarge, size(int64(len(text))), size(MaxJSON))
		}
		js, err := decodeBase64(text)
		if err != nil {
			return nil, kw, fmt.Errorf("PNG chunk %q: %w", kw, err)
		}
		return js, kw, nil
	}
	if perr != nil {
		return nil, "", fmt.Errorf("%v, and no card chunk before the cut", perr)
	}
	return nil, "", fmt.Errorf("%w: a PNG with no tEXt chunk \"chara\" or \"ccv3\" (a plain image?)", ErrNoCard)
}

// decodeBase64 decodes standard base64, padded or not, ignoring line breaks.
func decodeBase64(text []byte) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', ' ', '\t':
			return -1
		}
		return r
	}, string(text))
	if s == "" {
		return nil, errors.New("empty card text")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("bad base64 at byte %d", int64(ce))
		}
		return nil, fmt.Errorf("bad base64: %v", err)
	}
	return b, nil
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// EncodePNG returns a PNG carrying card JSON in a tEXt chunk "chara"
// (base64, as every reader expects). image, when given, must be a PNG: its
// card chunks are replaced and its pixels kept; otherwise the picture is a
// minimal 1x1 grey image.
func EncodePNG(cardJSON, image []byte) ([]byte, error) {
	var chunks []pngChunk
	if len(image) > 0 {
		cs, err := pngChunks(image)
		if err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
		for _, c := range cs {
			if c.typ == "tEXt" {
				if i := bytes.IndexByte(c.data, 0); i >= 0 {
					kw := strings.ToLower(string(c.data[:i]))
					if kw == "chara" || kw == "ccv3" {
						continue
					}
				}
			}
			chunks = append(chunks, c)
		}
	} else {
		var err error
		if chunks, err = blankImage(); err != nil {
			return nil, err
		}
	}
	text := append([]byte("chara\x00"), base64.StdEncoding.AppendEncode(nil, cardJSON)...)
	var out bytes.Buffer
	out.Write(pngSignature)
	for _, c := range chunks {
		if c.typ == "IEND" {
			writeChunk(&out, "tEXt", text)
		}
		writeChunk(&out, c.typ, c.data)
	}
	return out.Bytes(), nil
}

// blankImage is a 1x1 8-bit greyscale PNG: IHDR, IDAT, IEND.
func blankImage() ([]pngChunk, error) {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 1)
	binary.BigEndian.PutUint32(ihdr[4:], 1)
	ihdr[8], ihdr[9] = 8, 0 // bit depth 8, colour type 0 (greyscale)
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write([]byte{0, 0x80}); err != nil { // filter byte, one grey pixel
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return []pngChunk{{"IHDR", ihdr}, {"IDAT", z.Bytes()}, {"IEND", nil}}, nil
}

func writeChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}

// AddPNGText adds a tEXt chunk (keyword, text) before IEND: for tests and
// tools that build card fixtures.
func AddPNGText(png []byte, keyword string, text []byte) ([]byte, error) {
	cs, err := pngChunks(png)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(pngSignature)
	for _, c := range cs {
		if c.typ == "IEND" {
			writeChunk(&out, "tEXt", append([]byte(keyword+"\x00"), text...))
		}
		writeChunk(&out, c.typ, c.data)
	}
	return out.Bytes(), nil
}

// BlankPNG returns a minimal valid 1x1 PNG with no text chunks.
func BlankPNG() []byte {
	cs, _ := blankImage()
	var out bytes.Buffer
	out.Write(pngSignature)
	for _, c := range cs {
		writeChunk(&out, c.typ, c.data)
	}
	return out.Bytes()
}
