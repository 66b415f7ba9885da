package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

func testWebhooks(t *testing.T, s store.Store) {
	gh := store.Webhook{Name: "github", Preset: "github", Secret: []byte("pcs1\x00sealed\xff"), SecretHint: "****abcd",
		ToleranceSeconds: 0, URL: "", CreatedAt: t0us, UpdatedAt: t0us}
	st := store.Webhook{Name: "acme", Preset: "stripe", Secret: []byte("s1"), SecretHint: "****1111",
		NextSecret: []byte("s2"), NextSecretHint: "****2222", ToleranceSeconds: 60, URL: "https://x.example/hook",
		ReplayProtection: true, CreatedAt: t0us, UpdatedAt: t0us}
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, w := range []store.Webhook{gh, st} {
			if err := tx.InsertWebhook(ctx, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failed statement ends a PostgreSQL transaction: the conflict gets its own.
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.InsertWebhook(ctx, gh) }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate InsertWebhook = %v, want ErrConflict", err)
	}
	var list []store.Webhook
	if err := s.Read(ctx, func(tx store.Tx) (err error) { list, err = tx.Webhooks(ctx); return }); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("Webhooks = %d, want 2", len(list))
	}
	st.Seq, gh.Seq = list[0].Seq, list[1].Seq
	if !reflect.DeepEqual(list, []store.Webhook{st, gh}) {
		t.Fatalf("Webhooks =\n%+v\nwant (by name)\n%+v", list, []store.Webhook{st, gh})
	}

	// Promote next to current and clear next, as a rotation without a new next does.
	st.Secret, st.SecretHint, st.NextSecret, st.NextSecretHint = st.NextSecret, st.NextSecretHint, nil, ""
	st.ReplayProtection, st.UpdatedAt = false, t0us.Add(time.Minute)
	err = s.Write(ctx, func(tx store.Tx) error {
		if err := tx.UpdateWebhook(ctx, st); err != nil {
			return err
		}
		if err := tx.UpdateWebhook(ctx, store.Webhook{Name: "nope", Secret: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateWebhook(unknown) = %v, want ErrNotFound", err)
		}
		return tx.DeleteWebhook(ctx, "github")
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Read(ctx, func(tx store.Tx) error {
		got, err := tx.Webhook(ctx, "acme")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, st) {
			t.Errorf("after update =\n%+v\nwant\n%+v", got, st)
		}
		if _, err := tx.Webhook(ctx, "github"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted webhook = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, "github") }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
}

func testReplaceSigningKey(t *testing.T, s store.Store) {
	sealed := []byte("pcs1-sealed-form-of-the-seed-----------------------")
	err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.SetSigningKey(ctx, make([]byte, 32)); err != nil {
			return err
		}
		return tx.ReplaceSigningKey(ctx, sealed)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := s.Read(ctx, func(tx store.Tx) (err error) { got, err = tx.SigningKey(ctx); return }); err != nil || string(got) != string(sealed) {
		t.Fatalf("SigningKey after replace = %q, %v", got, err)
	}
}
