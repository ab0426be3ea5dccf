package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser starts a fresh headless Chromium for the test. Without one the
// test is skipped, unless BUILDS_REQUIRE_BROWSER=1 makes that a failure.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := os.Getenv("BUILDS_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("BUILDS_REQUIRE_BROWSER") == "1" {
			t.Fatalf("chromium not found at %s and BUILDS_REQUIRE_BROWSER=1", path)
		}
		t.Skipf("chromium not found at %s; set BUILDS_CHROMIUM or install it", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where screenshots go: $BUILDS_ARTIFACTS (CI keeps them), or
// the test's temporary directory, removed when the test ends.
func artifacts(t testing.TB) string {
	dir := os.Getenv("BUILDS_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir() // removed with the test: set BUILDS_ARTIFACTS to keep them
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// act is a browser step that returns nothing.
type act = chromedp.Action[chromedp.Void]

func shot(dir, name string) act {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

func run(t testing.TB, ctx context.Context, actions ...act) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// get runs one step that returns a value.
func get[T any](t testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitText waits until the element matched by sel contains want.
// Polling resumes after a navigation, which destroys the page the poll
// ran in.
func waitText(sel, want string) act {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Until(deadline)))(ctx, t)
			if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				if err != nil {
					return fmt.Errorf("wait for %q in %s: %w", want, sel, err)
				}
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func browserLogin(e *env, name string) act {
	return chromedp.Steps(
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("username"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		waitText("h1", "Your jobs"),
	)
}

// currentJobID reads the job ID from the page's address.
func currentJobID(t testing.TB, ctx context.Context) int64 {
	loc := get(t, ctx, chromedp.Location())
	var id int64
	i := strings.LastIndex(loc, "/job/")
	if i < 0 {
		t.Fatalf("not on a job page: %s", loc)
	}
	fmt.Sscan(loc[i+len("/job/"):], &id)
	return id
}

func darkMode(on bool) act {
	v := "light"
	if on {
		v = "dark"
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	})
}

func phone(on bool) act {
	if on {
		return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	return chromedp.EmulateReset()
}

func clearCookies() act {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	})
}
