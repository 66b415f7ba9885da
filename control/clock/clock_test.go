package clock

import (
	"testing"
	"time"
)

func TestFakeFiresDueTimersOnly(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	early, _ := f.Timer(time.Second)
	late, _ := f.Timer(time.Minute)
	stopped, stop := f.Timer(time.Second)
	stop()
	if f.Timers() != 2 {
		t.Fatalf("Timers = %d, want 2", f.Timers())
	}
	f.Advance(2 * time.Second)
	select {
	case at := <-early:
		if !at.Equal(t0.Add(2 * time.Second)) {
			t.Fatalf("fired at %v", at)
		}
	default:
		t.Fatal("due timer did not fire")
	}
	select {
	case <-late:
		t.Fatal("timer fired early")
	case <-stopped:
		t.Fatal("stopped timer fired")
	default:
	}
	if f.Timers() != 1 || !f.Now().Equal(t0.Add(2*time.Second)) {
		t.Fatalf("Timers = %d, Now = %v", f.Timers(), f.Now())
	}
	immediate, _ := f.Timer(0)
	if len(immediate) != 1 {
		t.Fatal("zero-duration timer did not fire at once")
	}
}

func TestRealTimer(t *testing.T) {
	c, stop := Real{}.Timer(time.Millisecond)
	defer stop()
	<-c
	if (Real{}).Now().IsZero() {
		t.Fatal("zero time")
	}
}
