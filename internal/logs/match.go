package logs

import (
	"bytes"
	"encoding/binary"
)

// index finds every occurrence of many patterns in one pass over a buffer,
// whatever their number: at each position it hashes the next few bytes (the
// key) into a small bitmap that fits in the CPU cache, and only on a hit
// compares the patterns that start with that key. Scanning costs about the
// same for one secret as for fifty.
type index struct {
	patterns [][]byte
	maxLen   int
	width    int    // key length: the shortest pattern's, at most 8
	mask     uint64 // keeps width bytes of a little-endian load
	filter   [1 << filterBits / 64]uint64
	byKey    map[uint64][]int // key -> indexes into patterns
	// prefixes holds every proper prefix shorter than width of a key, as
	// prefixKey, for telling whether the last few bytes of a buffer may
	// begin a pattern.
	prefixes map[uint64]bool
}

const filterBits = 16

func newIndex(patterns [][]byte) *index {
	ix := &index{patterns: patterns, byKey: map[uint64][]int{}, prefixes: map[uint64]bool{}}
	if len(patterns) == 0 {
		return ix
	}
	ix.maxLen = len(patterns[0])
	ix.width = min(8, len(patterns[len(patterns)-1])) // longest first
	ix.mask = ^uint64(0) >> (64 - 8*ix.width)
	for i, p := range patterns {
		k := loadKey(p, 0, ix.width)
		ix.byKey[k] = append(ix.byKey[k], i)
		h := hashKey(k)
		ix.filter[h/64] |= 1 << (h % 64)
		for n := 1; n < ix.width; n++ {
			ix.prefixes[prefixKey(p[:n])] = true
		}
	}
	return ix
}

func hashKey(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> (64 - filterBits) }

// loadKey reads width bytes of b at i as a little-endian number.
func loadKey(b []byte, i, width int) uint64 {
	var k uint64
	for j := width - 1; j >= 0; j-- {
		k = k<<8 | uint64(b[i+j])
	}
	return k
}

// prefixKey packs a string of fewer than 8 bytes with its length.
func prefixKey(b []byte) uint64 {
	return uint64(len(b))<<56 | loadKey(b, 0, len(b))
}

// scan calls fn with the start and end of every occurrence of a pattern in
// buf, in order of start.
func (ix *index) scan(buf []byte, fn func(start, end int)) {
	w := ix.width
	if w == 0 {
		return
	}
	i := 0
	// The hot loop: one load, multiply and bit test per byte.
	for ; i+8 <= len(buf); i++ {
		k := binary.LittleEndian.Uint64(buf[i:]) & ix.mask
		if h := hashKey(k); ix.filter[h/64]&(1<<(h%64)) != 0 {
			ix.verify(buf, i, k, fn)
		}
	}
	for ; i+w <= len(buf); i++ {
		k := loadKey(buf, i, w)
		if h := hashKey(k); ix.filter[h/64]&(1<<(h%64)) != 0 {
			ix.verify(buf, i, k, fn)
		}
	}
}

// verify compares the patterns whose key is k with buf at i.
func (ix *index) verify(buf []byte, i int, k uint64, fn func(start, end int)) {
	for _, pi := range ix.byKey[k] {
		if p := ix.patterns[pi]; bytes.HasPrefix(buf[i:], p) {
			fn(i, i+len(p))
		}
	}
}

// holdLen returns the length of the longest suffix of buf that is a proper
// prefix of some pattern: those bytes cannot be decided yet.
func (ix *index) holdLen(buf []byte) int {
	for j := max(0, len(buf)-ix.maxLen+1); j < len(buf); j++ {
		if ix.beginsPattern(buf[j:]) {
			return len(buf) - j
		}
	}
	return 0
}

// beginsPattern reports whether s is a proper prefix of some pattern.
func (ix *index) beginsPattern(s []byte) bool {
	if len(s) < ix.width {
		return ix.prefixes[prefixKey(s)]
	}
	k := loadKey(s, 0, ix.width)
	if h := hashKey(k); ix.filter[h/64]&(1<<(h%64)) == 0 {
		return false
	}
	for _, pi := range ix.byKey[k] {
		if p := ix.patterns[pi]; len(s) < len(p) && bytes.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

// findSpans returns the merged, sorted ranges of buf that are secret,
// including the run carried over from the previous call.
func (st *redactState) findSpans(ix *index, buf []byte) []span {
	spans := st.spans[:0]
	if st.covered > 0 {
		spans = append(spans, span{0, st.covered})
	}
	ix.scan(buf, func(start, end int) {
		if n := len(spans); n > 0 && start <= spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, end)
			return
		}
		spans = append(spans, span{start, end})
	})
	st.spans = spans
	return spans
}
