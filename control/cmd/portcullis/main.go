// Command portcullis is the Portcullis command-line tool: the control server's admin API from a
// shell, and offline policy checks. The commands live in control/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis/portcullis/control/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
