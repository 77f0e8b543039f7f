//go:build cgo && linux

package infer

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

// The part of libheif's C API (libheif/heif.h, stable across 1.x) that the engine calls,
// declared here: the engine loads libheif.so.1 itself, before its lockdown, so building
// Cutout needs no libheif headers and the app process never maps the codecs.
struct cutout_heif_error { int code; int subcode; const char* message; };

// The head of struct heif_decoding_options, up to the version-2 field this sets.
struct cutout_heif_options {
	uint8_t version;
	uint8_t ignore_transformations;
	void (*start_progress)(int, int, void*);
	void (*on_progress)(int, int, void*);
	void (*end_progress)(int, void*);
	void* progress_user_data;
	uint8_t convert_hdr_to_8bit;
};

enum { heifRGB = 1, heifInterleavedRGBA = 11, heifInterleaved = 10 };

static struct {
	struct cutout_heif_error (*init)(void*);
	void* (*context_alloc)(void);
	void (*context_free)(void*);
	struct cutout_heif_error (*read_from_memory_without_copy)(void*, const void*, size_t, const void*);
	void (*set_max_decoding_threads)(void*, int);
	struct cutout_heif_error (*primary_image_handle)(void*, void**);
	int (*has_alpha)(const void*);
	int (*is_premultiplied)(const void*);
	void (*handle_release)(const void*);
	struct cutout_heif_options* (*options_alloc)(void);
	void (*options_free)(struct cutout_heif_options*);
	struct cutout_heif_error (*decode_image)(const void*, void**, int, int, const struct cutout_heif_options*);
	int (*width)(const void*, int);
	int (*height)(const void*, int);
	const uint8_t* (*plane)(const void*, int, int*);
	void (*image_release)(const void*);
} heif;

// cutout_heif_load opens libheif and initialises it (its plugins, in versions that have
// them, are loaded here too). On failure it writes why into err and returns 1.
//
// It also fixes glibc's limit on malloc arenas at the value glibc would compute (8 per
// core): glibc computes it when a thread first needs a new arena, reading
// /sys/devices/system/cpu/online, and libheif's and dav1d's threads get there after the
// lockdown, where nothing can be opened.
static int cutout_heif_load(char* err, int n, int arenas) {
	mallopt(M_ARENA_MAX, arenas);
	void* lib = dlopen("libheif.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, n, "%s", dlerror());
		return 1;
	}
#define SYM(field, name) \
	if (!(*(void**)&heif.field = dlsym(lib, name))) { snprintf(err, n, "libheif.so.1 has no %s", name); return 1; }
	SYM(init, "heif_init")
	SYM(context_alloc, "heif_context_alloc")
	SYM(context_free, "heif_context_free")
	SYM(read_from_memory_without_copy, "heif_context_read_from_memory_without_copy")
	SYM(set_max_decoding_threads, "heif_context_set_max_decoding_threads")
	SYM(primary_image_handle, "heif_context_get_primary_image_handle")
	SYM(has_alpha, "heif_image_handle_has_alpha_channel")
	SYM(is_premultiplied, "heif_image_handle_is_premultiplied_alpha")
	SYM(handle_release, "heif_image_handle_release")
	SYM(options_alloc, "heif_decoding_options_alloc")
	SYM(options_free, "heif_decoding_options_free")
	SYM(decode_image, "heif_decode_image")
	SYM(width, "heif_image_get_width")
	SYM(height, "heif_image_get_height")
	SYM(plane, "heif_image_get_plane_readonly")
	SYM(image_release, "heif_image_release")
#undef SYM
	struct cutout_heif_error e = heif.init(NULL);
	if (e.code) {
		snprintf(err, n, "heif_init: %s", e.message ? e.message : "failed");
		return 1;
	}
	return 0;
}

typedef struct {
	void* image; // the decoded heif_image, released by cutout_heif_release
	const uint8_t* pix;
	int stride, width, height, premultiplied;
	char err[256];
} cutout_heif_result;

// cutout_heif_decode decodes the primary image of the HEIF file data[0:n] to 8-bit RGBA with
// its transformations (irot, imir, clap) applied, its grid assembled and its alpha plane
// attached, decoding tiles on up to threads threads. data is read only during the call: the
// context is freed before it returns, the image is not tied to it.
static int cutout_heif_decode(const void* data, size_t n, int threads, cutout_heif_result* out) {
	void* ctx = heif.context_alloc();
	if (!ctx) {
		snprintf(out->err, sizeof out->err, "out of memory");
		return 1;
	}
	heif.set_max_decoding_threads(ctx, threads);
	void* handle = NULL;
	struct cutout_heif_error e = heif.read_from_memory_without_copy(ctx, data, n, NULL);
	if (!e.code) e = heif.primary_image_handle(ctx, &handle);
	if (!e.code) {
		out->premultiplied = heif.has_alpha(handle) && heif.is_premultiplied(handle);
		struct cutout_heif_options* opt = heif.options_alloc();
		if (opt && opt->version >= 2) opt->convert_hdr_to_8bit = 1;
		e = heif.decode_image(handle, &out->image, heifRGB, heifInterleavedRGBA, opt);
		if (opt) heif.options_free(opt);
	}
	if (e.code) snprintf(out->err, sizeof out->err, "%s", e.message ? e.message : "libheif failed");
	if (handle) heif.handle_release(handle);
	heif.context_free(ctx);
	if (e.code) return 1;
	out->width = heif.width(out->image, heifInterleaved);
	out->height = heif.height(out->image, heifInterleaved);
	out->pix = heif.plane(out->image, heifInterleaved, &out->stride);
	if (!out->pix || out->width <= 0 || out->height <= 0 || out->stride < 4 * out->width) {
		heif.image_release(out->image);
		out->image = NULL;
		snprintf(out->err, sizeof out->err, "libheif returned no RGBA plane");
		return 1;
	}
	return 0;
}

static void cutout_heif_release(void* image) { heif.image_release(image); }
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"unsafe"

	"cutout/internal/parallel"
)

var (
	heifOnce sync.Once
	heifErr  error
)

// LoadHEIF loads libheif, which decodes HEIC and AVIF. The engine must load it before its
// lockdown, after which nothing can be opened (Init does); a failure is kept and given as
// the reason every HEIC and AVIF fails, the other formats being unaffected.
func LoadHEIF() error {
	heifOnce.Do(func() {
		var msg [256]C.char
		if C.cutout_heif_load(&msg[0], C.int(len(msg)), C.int(8*runtime.NumCPU())) != 0 {
			heifErr = fmt.Errorf("HEIC and AVIF are read with libheif (Debian package libheif1), which could not be loaded: %s",
				C.GoString(&msg[0]))
		}
	})
	return heifErr
}

// decodeHEIF decodes a validated HEIC or AVIF file with libheif into NRGBA, upright.
func decodeHEIF(data []byte) (image.Image, error) {
	if err := LoadHEIF(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("no data")
	}
	var out C.cutout_heif_result
	if C.cutout_heif_decode(unsafe.Pointer(&data[0]), C.size_t(len(data)), C.int(parallel.Procs()), &out) != 0 {
		return nil, fmt.Errorf("libheif: %s", C.GoString(&out.err[0]))
	}
	defer C.cutout_heif_release(out.image)
	w, h, stride := int(out.width), int(out.height), int(out.stride)
	src := unsafe.Slice((*byte)(out.pix), stride*(h-1)+4*w)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	premultiplied := out.premultiplied != 0
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			copy(row, src[y*stride:])
			if premultiplied {
				unpremultiply(row)
			}
		}
	})
	return img, nil
}

// unpremultiply turns a row of premultiplied RGBA into straight (non-premultiplied) RGBA.
func unpremultiply(row []byte) {
	for i := 0; i+3 < len(row); i += 4 {
		a := uint32(row[i+3])
		if a == 0 || a == 255 {
			continue
		}
		for c := i; c < i+3; c++ {
			row[c] = uint8(min(255, (uint32(row[c])*255+a/2)/a))
		}
	}
}
