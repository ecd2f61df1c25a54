package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
)

// codeBits is the length of the sign codes in memory_vec (bit[384]).
const codeBits = 384

// codeBytes is a code's size.
const codeBytes = codeBits / 8

// Sign codes. The vector index stores, for each memory, the signs of its
// embedding after a fixed random rotation: for two unit vectors at angle θ
// each sign differs with probability θ/π (Charikar's SimHash), so the
// Hamming distance of two codes estimates the angle, and sqlite-vec scans
// 48-byte codes instead of 1.5 KB float vectors. The rotation is three
// rounds of random sign flips and a Walsh-Hadamard transform (the fast
// pseudo-random rotation of Ailon & Chazelle, as in cross-polytope LSH),
// O(n log n) instead of a dense n×n matrix, with the vector zero-padded to
// a power of two; it works for any embedding dimension, so a model with
// 768 or 1536 dimensions gets 384-bit codes too.

// rotation is the sign pattern of the three rounds for one padded size.
type rotation struct {
	n     int       // padded size, a power of two >= codeBits
	signs [3][]bool // true: flip
}

var rotations sync.Map // padded size -> *rotation

func rotationFor(n int) *rotation {
	if r, ok := rotations.Load(n); ok {
		return r.(*rotation)
	}
	// A fixed seed: every save, every build, the same rotation.
	rng := rand.New(rand.NewPCG(0x64696f72616d61, uint64(n)))
	r := &rotation{n: n}
	for i := range r.signs {
		r.signs[i] = make([]bool, n)
		for j := range r.signs[i] {
			r.signs[i][j] = rng.Uint64()&1 == 1
		}
	}
	v, _ := rotations.LoadOrStore(n, r)
	return v.(*rotation)
}

// signCode returns the code of vector v.
func signCode(v []float32) []byte {
	n := 1
	for n < codeBits || n < len(v) {
		n *= 2
	}
	rot := rotationFor(n)
	x := make([]float32, n)
	copy(x, v)
	for round := range rot.signs {
		for i, flip := range rot.signs[round] {
			if flip {
				x[i] = -x[i]
			}
		}
		hadamard(x)
	}
	code := make([]byte, codeBytes)
	for i := 0; i < codeBits; i++ {
		if x[i] > 0 {
			code[i/8] |= 1 << (i % 8)
		}
	}
	return code
}

// hadamard is the unnormalised fast Walsh-Hadamard transform in place (len
// a power of two). Scale does not matter: only signs are kept.
func hadamard(x []float32) {
	for h := 1; h < len(x); h *= 2 {
		for i := 0; i < len(x); i += 2 * h {
			for j := i; j < i+h; j++ {
				a, b := x[j], x[j+h]
				x[j], x[j+h] = a+b, a-b
			}
		}
	}
	// Keep magnitudes near 1 so three rounds never overflow float32.
	s := float32(1 / math.Sqrt(float64(len(x))))
	for i := range x {
		x[i] *= s
	}
}

// hamming is the number of differing bits of two codes.
func hamming(a, b []byte) int {
	d := 0
	for i := 0; i+8 <= len(a) && i+8 <= len(b); i += 8 {
		d += bits.OnesCount64(binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]))
	}
	return d
}

// contentHash is the cache key of a text: the first 16 bytes of its
// SHA-256.
func contentHash(text string) []byte {
	h := sha256.Sum256([]byte(text))
	return h[:16]
}

// Quantised vectors (embedding_cache.vec): a little-endian float32 scale,
// then one int8 per dimension.

var errBadVector = errors.New("bad cached vector")

// quantize encodes a vector.
func quantize(v []float32) []byte {
	var m float32
	for _, x := range v {
		if a := float32(math.Abs(float64(x))); a > m {
			m = a
		}
	}
	out := make([]byte, 4+len(v))
	binary.LittleEndian.PutUint32(out, math.Float32bits(m))
	if m == 0 {
		return out
	}
	for i, x := range v {
		q := math.Round(float64(x) / float64(m) * 127)
		out[4+i] = byte(int8(max(-127, min(127, q))))
	}
	return out
}

// dequantize decodes a vector of dims dimensions.
func dequantize(b []byte, dims int) ([]float32, error) {
	if len(b) != 4+dims || dims <= 0 {
		return nil, fmt.Errorf("%w: %d bytes for %d dimensions", errBadVector, len(b), dims)
	}
	m := math.Float32frombits(binary.LittleEndian.Uint32(b))
	if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) || m < 0 {
		return nil, fmt.Errorf("%w: scale %v", errBadVector, m)
	}
	out := make([]float32, dims)
	s := m / 127
	for i := range out {
		out[i] = float32(int8(b[4+i])) * s
	}
	return out, nil
}

// unit returns v scaled to length 1 (a copy), or an error for a vector that
// is empty, not finite or all zeros.
func unit(v []float32) ([]float32, error) {
	var s float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errors.New("vector has a non-finite coordinate")
		}
		s += f * f
	}
	if len(v) == 0 {
		return nil, errors.New("empty vector")
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out, nil // an empty text: similar to nothing
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}

// dot is the dot product of two vectors of the same length (0 otherwise).
func dot(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0 + s1 + s2 + s3)
}
