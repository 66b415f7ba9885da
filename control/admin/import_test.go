package admin_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/store"
)

// A policy stored by a version that kept verifiers inside the document (secrets in clear):
// on start they move to the verifier table, sealed, and the document loses its section.
func TestImportPolicyWebhooks(t *testing.T) {
	svc, st := newService(t)
	const secret = "legacy-webhook-secret-0001"
	legacy := `{"version":1,"webhooks":[{"name":"gh","preset":"github","secret":"` + secret + `"}],
		"routes":[{"name":"hooks","match":{"path_prefix":"/hooks"},"auth":{"type":"webhook","webhook":"gh"}}]}`
	err := st.Write(ctx, func(tx store.Tx) error {
		p, err := tx.Policy(ctx)
		if err != nil {
			return err
		}
		p.Document = []byte(legacy)
		return tx.PutPolicy(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ImportPolicyWebhooks(ctx); err != nil || n != 1 {
		t.Fatalf("ImportPolicyWebhooks = %d, %v; want 1 moved", n, err)
	}
	err = st.Read(ctx, func(tx store.Tx) error {
		p, err := tx.Policy(ctx)
		if err != nil {
			return err
		}
		if strings.Contains(string(p.Document), secret) || strings.Contains(string(p.Document), `"webhooks"`) {
			t.Errorf("the stored policy still has the section: %s", p.Document)
		}
		w, err := tx.Webhook(ctx, "gh")
		if err != nil {
			return err
		}
		if bytes.Contains(w.Secret, []byte(secret)) || w.SecretHint != "****0001" {
			t.Errorf("imported verifier = %+v", w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := svc.Policy(ctx); err != nil || !strings.Contains(string(p.Document), `"webhook":"gh"`) || strings.Contains(string(p.Document), secret) {
		t.Fatalf("policy after the import = %s, %v", p.Document, err)
	}
	if n, err := svc.ImportPolicyWebhooks(ctx); err != nil || n != 0 {
		t.Fatalf("second ImportPolicyWebhooks = %d, %v; want nothing to do", n, err)
	}
}
