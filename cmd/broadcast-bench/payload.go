//go:build linux

package main

import "strconv"

// Msg identifies one published message. It travels as the event's data,
// {"i":ID,"c":CHAN,"p":PUB,"s":SEQ,"t":UNIXNANO,"x":"xx…"}, padded with x
// to the payload size.
type Msg struct {
	ID   uint64 // unique over the run
	Chan uint32 // channel index
	Pub  uint16 // publisher index
	Seq  uint64 // sequence of (Pub, Chan), from 1
	TS   int64  // intended send time, Unix nanoseconds
}

// AppendPayload appends m's JSON encoding, padded to at least size bytes.
func AppendPayload(dst []byte, m Msg, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"i":`...)
	dst = strconv.AppendUint(dst, m.ID, 10)
	dst = append(dst, `,"c":`...)
	dst = strconv.AppendUint(dst, uint64(m.Chan), 10)
	dst = append(dst, `,"p":`...)
	dst = strconv.AppendUint(dst, uint64(m.Pub), 10)
	dst = append(dst, `,"s":`...)
	dst = strconv.AppendUint(dst, m.Seq, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, m.TS, 10)
	dst = append(dst, `,"x":"`...)
	for len(dst)-start < size-2 {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

// ParsePayload decodes a payload written by AppendPayload (keys in any
// order, unknown string or number fields skipped). It reports false for
// anything else. It does not allocate.
func ParsePayload(b []byte) (Msg, bool) {
	var m Msg
	var seen uint8
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return m, false
	}
	i++
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == '}' {
			return m, seen == 0x1f
		}
		if i+4 > len(b) || b[i] != '"' {
			return m, false
		}
		end := indexByte(b, i+1, '"')
		if end < 0 {
			return m, false
		}
		key := b[i+1 : end]
		i = skipSpace(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return m, false
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '"' {
			end = indexByte(b, i+1, '"')
			if end < 0 {
				return m, false
			}
			i = end + 1
		} else {
			var v uint64
			var neg, ok bool
			v, neg, i, ok = parseInt(b, i)
			if !ok {
				return m, false
			}
			if len(key) == 1 {
				switch key[0] {
				case 'i':
					m.ID, seen = v, seen|1
				case 'c':
					m.Chan, seen = uint32(v), seen|2
				case 'p':
					m.Pub, seen = uint16(v), seen|4
				case 's':
					m.Seq, seen = v, seen|8
				case 't':
					m.TS, seen = int64(v), seen|16
					if neg {
						m.TS = -m.TS
					}
				}
			}
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

func parseInt(b []byte, i int) (v uint64, neg bool, next int, ok bool) {
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + uint64(b[i]-'0')
		i++
	}
	return v, neg, i, i > start
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func indexByte(b []byte, from int, c byte) int {
	for j := from; j < len(b); j++ {
		if b[j] == c {
			return j
		}
	}
	return -1
}
