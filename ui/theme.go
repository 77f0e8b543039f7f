package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// cutoutTheme is Fyne's default theme with text colours that can be read: the default's
// "low importance" text (the disabled colour: empty-field prompts, "waiting", hints),
// success green and the outline of unticked checkboxes and radios measured 1.2–1.6:1 against
// the background, where text needs 4.5:1 and a control's outline 3:1 (WCAG 2.1, 1.4.3 and
// 1.4.11). TestThemeContrast measures every pair. With held it keeps one variant whatever the
// system uses.
type cutoutTheme struct {
	held    bool
	variant fyne.ThemeVariant
}

// readable are the colours replaced, per variant (light, dark).
var readable = map[fyne.ThemeColorName][2]color.NRGBA{
	theme.ColorNameDisabled:    {{R: 0x6b, G: 0x6b, B: 0x6b, A: 0xff}, {R: 0x9e, G: 0x9e, B: 0xa3, A: 0xff}},
	theme.ColorNamePlaceHolder: {{R: 0x6b, G: 0x6b, B: 0x6b, A: 0xff}, {R: 0x9e, G: 0x9e, B: 0xa3, A: 0xff}},
	theme.ColorNameSuccess:     {{R: 0x1b, G: 0x6e, B: 0x2c, A: 0xff}, {R: 0x6c, G: 0xc0, B: 0x70, A: 0xff}},
	theme.ColorNameError:       {{R: 0xb7, G: 0x1c, B: 0x1c, A: 0xff}, {R: 0xf2, G: 0x6d, B: 0x6a, A: 0xff}},
	theme.ColorNameWarning:     {{R: 0x95, G: 0x55, B: 0x00, A: 0xff}, {R: 0xff, G: 0xb7, B: 0x4d, A: 0xff}},
	theme.ColorNameInputBorder: {{R: 0x85, G: 0x85, B: 0x85, A: 0xff}, {R: 0x80, G: 0x80, B: 0x86, A: 0xff}},
}

func (t cutoutTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if t.held {
		v = t.variant
	}
	if c, ok := readable[n]; ok {
		if v == theme.VariantDark {
			return c[1]
		}
		return c[0]
	}
	return theme.DefaultTheme().Color(n, v)
}

func (cutoutTheme) Font(s fyne.TextStyle) fyne.Resource     { return theme.DefaultTheme().Font(s) }
func (cutoutTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }
func (cutoutTheme) Size(n fyne.ThemeSizeName) float32       { return theme.DefaultTheme().Size(n) }
