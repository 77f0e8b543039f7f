// Package cluster carries a hot folder's jobs to other machines over NATS JetStream: an
// embedded server for the hub (Serve), a connection that insists on the token and keeps
// reconnecting (Connect), the hub's side (Coordinator: inputs into an object store, one job
// message per input, the answer waited for) and the worker's (Worker: jobs pulled from a
// work-queue stream, the bytes fetched, the caller's pipeline run, the result stored, the job
// acknowledged). It knows nothing of images: what a job asks for travels as opaque settings,
// and the app decides what to do with the bytes either way.
//
// JetStream does the queueing: a job not acknowledged within the ack wait goes to another
// worker; after MaxDeliver deliveries without an answer the server gives up on it and the
// hub records that as the job's failure. Nothing here shares a file system.
package cluster

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"cutout/internal/quote"
)

// Names on the server. Job subjects are cutout.jobs.<model>.<key>: a worker's consumer takes
// only its own model's jobs. Results are cutout.results.<key>, the last one per key kept.
const (
	JobsStream    = "CUTOUT_JOBS"
	ResultsStream = "CUTOUT_RESULTS"
	InputsBucket  = "cutout-inputs"
	OutputsBucket = "cutout-outputs"

	jobsPrefix      = "cutout.jobs."
	resultsPrefix   = "cutout.results."
	presenceSubject = "cutout.workers"
	maxDeliveries   = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + JobsStream + ".>"
)

// Version is the job protocol's version; a worker refuses jobs of another.
const Version = 1

// maxMessage caps a job or result message (the bytes travel in the object stores).
const maxMessage = 64 << 10

// Job asks a worker for one cut-out.
type Job struct {
	Version int `json:"version"`
	// Key names the job: the SHA-256 of the input's content and the settings' fingerprint,
	// hex. It is the input's and the output's object name, the JetStream message ID and the
	// result's subject.
	Key string `json:"key"`
	// Name is the input's file name (no folder), for messages and the format check by
	// extension.
	Name string `json:"name"`
	// Model is the model's token (see ModelToken); Settings are the hub's finishing and
	// format options (opaque here), and Fingerprint is what the hub computed of both.
	Model       string          `json:"model"`
	Settings    json.RawMessage `json:"settings"`
	Fingerprint string          `json:"fingerprint"`
	// Hash is the input's SHA-256 (hex) and Size its length: the worker checks the bytes it
	// fetched against both.
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// Status is how a worker answered.
type Status string

// A result is the cut-out (OK), the job's own failure (Failed: recorded like any failure)
// or a failure that is not the file's (Retry: the hub tries again later).
const (
	OK     Status = "ok"
	Failed Status = "failed"
	Retry  Status = "retry"
)

// Result is a worker's answer to a job; an OK result's bytes are the object Key in
// OutputsBucket.
type Result struct {
	Version int    `json:"version"`
	Key     string `json:"key"`
	Status  Status `json:"status"`
	Error   string `json:"error,omitempty"` // a sentence, for Failed and Retry
	Worker  string `json:"worker"`
	Size    int64  `json:"size,omitempty"` // the output's length, for OK
}

// presence is a worker's heartbeat.
type presence struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	Slots int    `json:"slots"`
}

// heartbeat is how often a worker says it is there; a worker unheard for presenceTimeout is
// taken for gone (variables for the tests).
var (
	heartbeat       = 2 * time.Second
	presenceTimeout = 4 * heartbeat
)

// ModelToken is the subject token for a model: the first 16 hex digits of its checksum, so
// that a worker takes only jobs for the very weights it verified.
func ModelToken(sha256hex string) string {
	s := strings.ToLower(sha256hex)
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// decodeStrict reads one JSON value of at most maxMessage bytes into v, refusing unknown
// fields: a message from another version is refused, not half understood.
func decodeStrict(data []byte, v any) error {
	if len(data) > maxMessage {
		return fmt.Errorf("the message is %d bytes, over the %d-byte cap", len(data), maxMessage)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the message")
	}
	return nil
}

// check refuses a job that is not well-formed: everything in it came over the network.
func (j *Job) check() error {
	switch {
	case j.Version != Version:
		return fmt.Errorf("the job is of protocol version %d, this worker speaks %d", j.Version, Version)
	case !isHex(j.Key, 64):
		return errors.New("the job's key is not a SHA-256")
	case !isHex(j.Hash, 64):
		return errors.New("the job's input hash is not a SHA-256")
	case !isHex(j.Model, 16):
		return errors.New("the job's model is not a model token")
	case j.Size <= 0:
		return errors.New("the job's input size is not positive")
	case j.Name == "" || len(j.Name) > 255 || !utf8.ValidString(j.Name) || strings.ContainsAny(j.Name, "/\\\x00") || j.Name == "." || j.Name == "..":
		return fmt.Errorf("the job's file name %s is not a plain file name", quote.Name(j.Name))
	}
	return nil
}

// check refuses a result that is not well-formed.
func (r *Result) check(key string) error {
	switch {
	case r.Version != Version:
		return fmt.Errorf("the result is of protocol version %d, this hub speaks %d", r.Version, Version)
	case r.Key != key:
		return errors.New("the result is for another job")
	case r.Status != OK && r.Status != Failed && r.Status != Retry:
		return fmt.Errorf("the result's status %s is unknown", quote.Name(string(r.Status)))
	case r.Status == OK && r.Size <= 0:
		return errors.New("the result has no size")
	case r.Status != OK && r.Error == "":
		return errors.New("the failure has no reason")
	}
	return nil
}

// jobSubject is where a job for model and key is published.
func jobSubject(model, key string) string { return jobsPrefix + model + "." + key }

// consumerName is the durable consumer the workers of a model share.
func consumerName(model string) string { return "workers-" + model }

// errorText is err's message without the client library's "nats: " prefix, for a sentence.
func errorText(err error) string {
	return strings.TrimPrefix(err.Error(), "nats: ")
}
