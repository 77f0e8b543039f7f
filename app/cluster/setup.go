package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"cutout/internal/quote"
)

// Config is what the hub sets on the server: the streams, the stores and the consumer its
// model's workers share. Workers read the caps from the jobs stream's metadata.
type Config struct {
	// Model is the model's token (ModelToken).
	Model string
	// MaxInput and MaxOutput cap one input and one result, in bytes.
	MaxInput, MaxOutput int64
	// AckWait is how long a worker may be silent on a job before it goes to another (default
	// 30 s; workers report progress every third of it).
	AckWait time.Duration
	// MaxDeliver is how many times a job is handed out before the server gives up on it
	// and the hub records it as failed (default 3).
	MaxDeliver int
	// TTL is how long inputs, results and queued jobs are kept on the server at most
	// (default 24 h): what a hub that went away for good leaves behind goes by itself.
	TTL time.Duration
	// Wait bounds the wait for one answer (default 30 min): past it the job is taken off
	// the queue and the input tried again later.
	Wait time.Duration
}

func (c Config) withDefaults() Config {
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 3
	}
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.Wait <= 0 {
		c.Wait = 30 * time.Minute
	}
	return c
}

// Metadata keys on the jobs stream: the caps workers must keep to.
const (
	metaMaxInput  = "cutout_max_input"
	metaMaxOutput = "cutout_max_output"
)

// storeBytes caps each object store as a whole: a full store refuses new objects (the hub
// then tries the input again later) instead of filling the disk.
const storeBytes = 8 << 30

// chunkMessage caps the messages of the object stores' own streams: objects travel in
// 128 KiB chunks.
const chunkMessage = 256 << 10

// setup makes (or brings up to date) everything the hub needs on the server.
func setup(ctx context.Context, js jetstream.JetStream, c Config) (jobs, results jetstream.Stream, in, out jetstream.ObjectStore, err error) {
	fail := func(what string, err error) error {
		return unavailablef("setting up %s on the queue server failed: %s", what, quote.Text(errorText(err)))
	}
	jobs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: JobsStream, Description: "Cutout jobs, one per input and settings",
		Subjects: []string{jobsPrefix + ">"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		MaxMsgSize: maxMessage, MaxMsgs: 100_000, MaxAge: c.TTL, Duplicates: 10 * time.Minute, Discard: jetstream.DiscardNew,
		Metadata: map[string]string{metaMaxInput: strconv.FormatInt(c.MaxInput, 10), metaMaxOutput: strconv.FormatInt(c.MaxOutput, 10)},
	})
	if err != nil {
		return nil, nil, nil, nil, fail("the jobs stream", err)
	}
	results, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ResultsStream, Description: "Cutout results: the last answer per job",
		Subjects: []string{resultsPrefix + "*"}, Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage,
		MaxMsgSize: maxMessage, MaxMsgsPerSubject: 1, MaxAge: c.TTL, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		return nil, nil, nil, nil, fail("the results stream", err)
	}
	for _, b := range []struct {
		name  string
		store *jetstream.ObjectStore
	}{{InputsBucket, &in}, {OutputsBucket, &out}} {
		s, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: b.name, TTL: c.TTL, MaxBytes: storeBytes, Storage: jetstream.FileStorage,
		})
		if err != nil {
			return nil, nil, nil, nil, fail(fmt.Sprintf("the object store %s", b.name), err)
		}
		*b.store = s
		if err := capChunks(ctx, js, "OBJ_"+b.name); err != nil {
			return nil, nil, nil, nil, fail(fmt.Sprintf("the object store %s", b.name), err)
		}
	}
	_, err = js.CreateOrUpdateConsumer(ctx, JobsStream, jetstream.ConsumerConfig{
		Durable: consumerName(c.Model), Description: "the workers of one model",
		FilterSubject: jobsPrefix + c.Model + ".*", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: c.AckWait, MaxDeliver: c.MaxDeliver, MaxAckPending: 1000, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, nil, nil, fail("the workers' consumer", err)
	}
	return jobs, results, in, out, nil
}

// capChunks sets the message cap of an object store's stream.
func capChunks(ctx context.Context, js jetstream.JetStream, stream string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxMsgSize == chunkMessage {
		return nil
	}
	cfg.MaxMsgSize = chunkMessage
	_, err = js.UpdateStream(ctx, cfg)
	return err
}
