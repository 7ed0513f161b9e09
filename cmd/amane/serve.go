package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"amane/alert"
	"amane/canary"
	"amane/gate"
	"amane/sentinel"
	"amane/web"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	rpID := fs.String("rp-id", "localhost", "WebAuthn relying-party id: the host name people reach the pages at")
	origins := fs.String("origin", "", "the exact origin(s) the pages are served from, comma-separated (https://amane.example.ma); required unless --rp-id is localhost")
	watch := fs.String("sentinel", "", "watch every decision with the sentinel: \"default\" for its default thresholds, or a JSON config file; canaries from DIR/canaries")
	syslogTo := fs.String("syslog", "", "with --sentinel: send every response as RFC 5424 syslog to NETWORK:HOST:PORT (udp or tcp)")
	webhook := fs.String("webhook", "", "with --sentinel: POST every response as JSON to this URL (https, or http on loopback), signed with the secret in $AMANE_WEBHOOK_SECRET or --webhook-secret-file")
	webhookSecret := fs.String("webhook-secret-file", "", "the webhook's HMAC secret, in a file")
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxy", "a proxy (CIDR or address; repeatable, or comma-separated) whose X-Forwarded-For names the client, for the sign-in and /verify throttles; without it, the direct peer is the client")
	caseBinding := fs.Bool("case-binding", false, "bind staff reads of a record to an open case assigned to the reader (the reference stated), or to a written break-the-glass reason (X-Amane-Break-Glass), at most --break-glass-per-day per account; off by default")
	glassPerDay := fs.Int("break-glass-per-day", gate.DefaultBreakGlassPerDay, "with --case-binding: reads hors dossier allowed per account and UTC day")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics on this address (e.g. 127.0.0.1:9090), for a security officer's, auditor's or operator's bearer token; off by default, never on --addr")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	trusted, err := web.ParseTrustedProxies(proxies)
	if err != nil {
		return fmt.Errorf("%w: --trusted-proxy takes CIDRs or addresses (10.0.0.0/8,192.0.2.1)", errUsage)
	}
	if *glassPerDay < 1 {
		return fmt.Errorf("%w: --break-glass-per-day takes a positive number", errUsage)
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	if *caseBinding {
		reg.gate.UseCaseBinding(gate.CaseBinding{BreakGlassPerDay: *glassPerDay})
	}
	cfg := web.Config{RPID: *rpID}
	if *origins != "" {
		cfg.Origins = strings.Split(*origins, ",")
	} else if *rpID != "localhost" {
		return fmt.Errorf("%w: --origin is required with --rp-id %s", errUsage, *rpID)
	}
	reg.web = cfg
	reg.proxies, reg.metricsAddr = trusted, *metricsAddr
	if *watch != "" {
		sc := sentinel.DefaultConfig()
		if *watch != "default" {
			if sc, err = sentinel.LoadConfig(*watch); err != nil {
				return err
			}
		}
		canaries, err := canary.ReadList(reg.dir)
		if err != nil {
			return err
		}
		reg.sentinel = sentinel.NewLive(sentinel.New(sc, canaries))
		if reg.alerts, err = alertSinks(*syslogTo, *webhook, *webhookSecret, stderr); err != nil {
			return err
		}
	} else if *syslogTo != "" || *webhook != "" {
		return fmt.Errorf("%w: --syslog and --webhook send the sentinel's responses: give --sentinel too", errUsage)
	}
	return serve(ctx, reg, *addr, stdout, stderr, func(string) {})
}

// webSecretFile, in the data directory, seals the accounts' TOTP secrets (created by init, 0600).
const webSecretFile = "web-secret.key"

// webSecret reads the data directory's web secret key, creating it on first use.
func webSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, webSecretFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := web.CreateSecretKey(path); err != nil {
			return nil, err
		}
	}
	return web.ReadSecretKey(path)
}

// keyRefresh is how often a server re-reads its key custody, so that a version added by
// `amane keys rotate` in another process becomes current for new data keys.
const keyRefresh = 3 * time.Second

func serve(ctx context.Context, reg *registry, addr string, stdout, stderr io.Writer, ready func(url string)) error {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	go func() {
		t := time.NewTicker(keyRefresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := reg.custody.Refresh(); err != nil {
					logger.Error("key refresh", "err", err.Error())
				}
			}
		}
	}()
	srv := web.NewServer(reg.gate, reg.store, logger)
	if reg.web.RPID != "" {
		srv.Config = reg.web
	}
	key, err := webSecret(reg.dir)
	if err != nil {
		return err
	}
	srv.SecretKey = key
	srv.Health = reg.journal.Health // /healthz: 503 while the server cannot journal
	signer, err := attestSigner(reg, stderr)
	if err != nil {
		return err
	}
	verifyURL := "http://" + addr + "/verify"
	if len(reg.web.Origins) > 0 {
		verifyURL = reg.web.Origins[0] + "/verify"
	}
	srv.Attester = &attester{g: reg.gate, signer: signer, verifyURL: verifyURL}
	if reg.sentinel != nil {
		// Every decision goes to the detector; every response is journaled, stored, applied (accounts,
		// sessions, tokens), logged (principal id, response, signal: no personal data), sent to the
		// sinks and counted. Suspensions the store holds from before a restart hold again.
		reg.gate.UseSentinel(reg.sentinel)
		if _, err := reg.gate.RestoreSentinel(ctx); err != nil {
			return err
		}
		srv.UseSentinel(ctx, reg.gate, reg.sentinel, reg.alerts)
	}
	if reg.alerts != nil {
		defer reg.alerts.Close() // what is queued is delivered
	}
	srv.TrustedProxies = reg.proxies
	if reg.metricsAddr != "" {
		// Bound before the main listener, so that its line is printed first.
		bound := make(chan error, 1)
		go func() {
			err := srv.ServeMetrics(ctx, reg.metricsAddr, func(a string) {
				fmt.Fprintf(stdout, "Metrics on %s (GET /metrics with a security officer's, auditor's or operator's bearer token)\n", a)
				bound <- nil
			})
			if err != nil {
				logger.Error("metrics listener", "err", err.Error())
			}
			select {
			case bound <- err:
			default:
			}
		}()
		if err := <-bound; err != nil {
			return err
		}
	}
	return srv.ListenAndServe(ctx, addr, func(a string) {
		fmt.Fprintf(stdout, "Amane is serving on http://%s (pages at /connexion, API under /api/v1/, OpenAPI at /api/v1/openapi.json)\n", a)
		ready("http://" + a)
	})
}

// alertSinks builds the dispatcher of the sentinel's responses to syslog and a webhook (nil if none).
func alertSinks(syslogTo, webhook, secretFile string, stderr io.Writer) (*alert.Dispatcher, error) {
	var sinks []alert.Sink
	if syslogTo != "" {
		network, addr, ok := strings.Cut(syslogTo, ":")
		if !ok || (network != "udp" && network != "tcp") {
			return nil, fmt.Errorf("%w: --syslog NETWORK:HOST:PORT, NETWORK udp or tcp", errUsage)
		}
		host, _ := os.Hostname()
		s, err := alert.NewSyslog(network, addr, host, "amane")
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	if webhook != "" {
		secret := []byte(os.Getenv("AMANE_WEBHOOK_SECRET"))
		if secretFile != "" {
			b, err := os.ReadFile(secretFile)
			if err != nil {
				return nil, err
			}
			secret = bytes.TrimSpace(b)
		}
		if len(secret) == 0 {
			return nil, fmt.Errorf("%w: --webhook needs a secret in $AMANE_WEBHOOK_SECRET or --webhook-secret-file", errUsage)
		}
		h, err := alert.NewWebhook(webhook, secret, nil)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, h)
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	return alert.NewDispatcher(slog.New(slog.NewJSONHandler(stderr, nil)), sinks...), nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
