package matte

import (
	"image"
	"strings"
	"testing"
)

// trimapString renders a trimap as rows of '.', '?' and '#'.
func trimapString(g *image.Gray) string {
	var sb strings.Builder
	for y := range g.Rect.Dy() {
		for _, v := range g.Pix[y*g.Stride : y*g.Stride+g.Rect.Dx()] {
			switch v {
			case TrimapBackground:
				sb.WriteByte('.')
			case TrimapForeground:
				sb.WriteByte('#')
			default:
				sb.WriteByte('?')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// maskFrom makes a mask from a picture: '#' 255, '.' 0, digits d as d*25.
func maskFrom(pic string) *image.Gray {
	lines := strings.Fields(pic)
	rows := make([][]uint8, len(lines))
	for y, l := range lines {
		rows[y] = make([]uint8, len(l))
		for x, c := range l {
			switch {
			case c == '#':
				rows[y][x] = 255
			case c >= '0' && c <= '9':
				rows[y][x] = uint8(c-'0') * 25
			}
		}
	}
	return grayFrom(rows)
}

func TestTrimapThresholds(t *testing.T) {
	m := grayFrom([][]uint8{{0, 9, 10, 11, 128, 239, 240, 241, 255}})
	got := Trimap(m, 240, 10, 0).Pix
	want := []uint8{0, 0, 128, 128, 128, 128, 128, 255, 255}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Trimap = %v, want %v", got, want)
		}
	}
}

func TestTrimapErosion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mask  string
		erode int
		want  string
	}{
		{"square erode 1", `
.........
.........
..#####..
..#####..
..#####..
..#####..
..#####..
.........
.........`, 1, `
.........
.???????.
.???????.
.??###??.
.??###??.
.??###??.
.???????.
.???????.
.........`},
		{"soft edge erode 0", `
..5##
..5##`, 0, `
..?##
..?##`},
		{"border does not erode", `
###..
###..
###..`, 1, `
##??.
##??.
##??.`},
		{"thin line vanishes", `
.....
.....
#####
.....
.....`, 1, `
.....
?????
?????
?????
.....`},
		{"erode 2", `
............
............
########....
########....
########....
########....
########....
............
............`, 2, `
??????????..
??????????..
??????????..
??????????..
######????..
??????????..
??????????..
??????????..
??????????..`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := trimapString(Trimap(maskFrom(tc.mask), 240, 10, tc.erode))
			want := strings.TrimPrefix(tc.want, "\n") + "\n"
			if got != want {
				t.Errorf("got\n%swant\n%s", got, want)
			}
		})
	}
}

func TestApplyHints(t *testing.T) {
	tri := maskFrom(`
#####
#...#
#...#`)
	keep := image.NewAlpha(tri.Rect)
	remove := image.NewAlpha(tri.Rect)
	keep.Pix[6] = 1      // (1,1): background → foreground
	remove.Pix[0] = 255  // (0,0): foreground → background
	keep.Pix[2] = 9      // (2,0): both painted: keep wins
	remove.Pix[2] = 9    //
	remove.Pix[12] = 200 // (2,2): stays background
	ApplyHints(tri, &Hints{Keep: keep, Remove: remove})
	want := ".####\n##..#\n#...#\n"
	if got := trimapString(tri); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	ApplyHints(tri, nil)
	ApplyHints(tri, &Hints{})
	small := image.NewAlpha(image.Rect(0, 0, 1, 1))
	small.Pix[0] = 1
	ApplyHints(tri, &Hints{Remove: small}) // smaller hints apply where they overlap
	if tri.Pix[0] != 0 {
		t.Error("small hint not applied")
	}
}

func BenchmarkTrimap(b *testing.B) {
	_, m := photoLike(4000, 3000)
	b.ResetTimer()
	for b.Loop() {
		Trimap(m, 240, 10, 10)
	}
}
