package sandbox

import "strings"

// Layer is one confinement layer: active with a detail, or missing with the reason.
type Layer struct {
	Name   string
	Detail string
	Active bool
}

// String is "name (detail)" for an active layer and "no name: reason" for a missing one.
func (l Layer) String() string {
	switch {
	case !l.Active:
		return "no " + l.Name + ": " + l.Detail
	case l.Detail == "":
		return l.Name
	}
	return l.Name + " (" + l.Detail + ")"
}

// Report lists the layers in the order they were applied.
type Report struct {
	Layers []Layer
}

func (r *Report) active(name, detail string) {
	r.Layers = append(r.Layers, Layer{Name: name, Detail: detail, Active: true})
}

func (r *Report) missing(name, why string) {
	r.Layers = append(r.Layers, Layer{Name: name, Detail: why})
}

// Missing lists the layers that could not be applied.
func (r *Report) Missing() []Layer {
	var out []Layer
	for _, l := range r.Layers {
		if !l.Active {
			out = append(out, l)
		}
	}
	return out
}

// Lines is every layer as a line of text (Layer.String), active and missing alike.
func (r *Report) Lines() []string {
	out := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		out[i] = l.String()
	}
	return out
}

// String joins Lines with "; ", for a log line.
func (r *Report) String() string { return strings.Join(r.Lines(), "; ") }
