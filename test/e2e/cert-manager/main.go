// Command outrigger-e2e-cert-manager runs, in one process against a kubeconfig, the cert-manager
// controllers that the CA and selfSigned issuers need and the CA injector (for webhook
// configurations), wired the way cert-manager's cmd/controller and cmd/cainjector wire them. The
// cmd/* modules are not published on the Go module proxy, so this main builds the same
// components from the library module github.com/cert-manager/cert-manager that go.mod pins.
//
//	outrigger-e2e-cert-manager -kubeconfig KC -crds DIR [-ready-file F] [-exit-on-stdin-close]
//
// It first applies the CRDs in DIR (the module's own deploy/crds, so they match the controllers)
// and waits for them to be Established, then starts the controllers and the CA injector, writes
// F (and prints a ready line) once their caches have synced, and runs until SIGTERM/SIGINT or,
// with -exit-on-stdin-close, until stdin reaches EOF (the parent died).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each registers its controller(s) with controllerpkg.Known() in init.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The issuer implementations the issuers controllers set up (Ready condition).
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// The controllers a CA/selfSigned chain needs: issuers, requests, and the certificates pipeline.
var controllers = []string{
	"issuers",
	"clusterissuers",
	"certificaterequests-approver",
	"certificaterequests-issuer-ca",
	"certificaterequests-issuer-selfsigned",
	"certificates-trigger",
	"certificates-issuing",
	"certificates-key-manager",
	"certificates-request-manager",
	"certificates-readiness",
	"certificates-revision-manager",
}

func main() {
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	klog.InitFlags(fs)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server (required)")
	crds := fs.String("crds", "", "directory of cert-manager's CRD manifests, the module's deploy/crds (required)")
	readyFile := fs.String("ready-file", "", "written once the controllers and the CA injector are running")
	clusterNS := fs.String("cluster-resource-namespace", "cert-manager", "namespace for ClusterIssuer secrets")
	exitOnStdin := fs.Bool("exit-on-stdin-close", false, "shut down when stdin reaches EOF (the parent died)")
	_ = fs.Parse(os.Args[1:])
	if *kubeconfig == "" || *crds == "" {
		fmt.Fprintln(os.Stderr, "usage: outrigger-e2e-cert-manager -kubeconfig KC -crds DIR [-ready-file F] [-exit-on-stdin-close]")
		os.Exit(2)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := klog.NewKlogr().WithName("cert-manager")
	ctrl.SetLogger(log)
	ctx = logf.NewContext(ctx, log)
	why := make(chan string, 3)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() { why <- "signal " + (<-sigs).String() }()
	if *exitOnStdin {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); why <- "stdin closed" }()
	}

	start := time.Now()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	must(err)
	must(applyCRDs(ctx, cfg, *crds))
	errs := make(chan error, len(controllers)+1)
	must(startControllers(ctx, *kubeconfig, *clusterNS, errs))
	mgr, err := newInjector(ctx, cfg)
	must(err)
	go func() { errs <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		must(errors.New("the CA injector's caches never synced"))
	}
	if *readyFile != "" {
		must(writeFileAtomic(*readyFile, []byte(fmt.Sprintf("{\"pid\":%d}\n", os.Getpid()))))
	}
	fmt.Fprintf(os.Stderr, "outrigger-e2e-cert-manager: ready in %.1fs (%d controllers, cainjector)\n", time.Since(start).Seconds(), len(controllers))

	reason, code := "", 0
	select {
	case reason = <-why:
	case err := <-errs:
		reason, code = fmt.Sprintf("a component stopped: %v", err), 1
	}
	fmt.Fprintf(os.Stderr, "outrigger-e2e-cert-manager: stopping (%s)\n", reason)
	if *readyFile != "" {
		_ = os.Remove(*readyFile)
	}
	cancel()
	// Controllers drain their queues on cancel; don't wait on them for long.
	time.Sleep(200 * time.Millisecond)
	klog.Flush()
	os.Exit(code)
}

// applyCRDs creates or updates each CRD in dir and waits until all are Established.
func applyCRDs(ctx context.Context, cfg *rest.Config, dir string) error {
	c, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRD manifests in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
				continue
			}
			var crd apiext.CustomResourceDefinition
			if err := yaml.UnmarshalStrict([]byte(doc), &crd); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			if err := createOrUpdate(ctx, c, &crd); err != nil {
				return fmt.Errorf("CRD %s: %w", crd.Name, err)
			}
			names = append(names, crd.Name)
		}
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, n, metav1.GetOptions{})
			if err != nil || !established(crd) {
				return false, nil
			}
		}
		return true, nil
	})
}

func createOrUpdate(ctx context.Context, c apiextclient.Interface, crd *apiext.CustomResourceDefinition) error {
	api := c.ApiextensionsV1().CustomResourceDefinitions()
	_, err := api.Create(ctx, crd, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	old, err := api.Get(ctx, crd.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	crd.ResourceVersion = old.ResourceVersion
	_, err = api.Update(ctx, crd, metav1.UpdateOptions{})
	return err
}

func established(crd *apiext.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiext.Established && c.Status == apiext.ConditionTrue {
			return true
		}
	}
	return false
}

// startControllers builds every controller first, then starts the shared informer factories (as
// cmd/controller does: the controllers register their informers while being built), then runs them.
func startControllers(ctx context.Context, kubeconfig, clusterNS string, errs chan<- error) error {
	cf, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   100,
		KubernetesAPIBurst: 200,
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: clusterNS},
		CertificateOptions: controllerpkg.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Second,
			CertificateRequestMaximumBackoffDuration: 10 * time.Second,
		},
	})
	if err != nil {
		return err
	}
	base, err := cf.Build()
	if err != nil {
		return err
	}
	known := controllerpkg.Known()
	var built []controllerpkg.Interface
	for _, name := range controllers {
		fn, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %q is not registered in this cert-manager version", name)
		}
		iface, err := fn(cf)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		built = append(built, iface)
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	for i, iface := range built {
		name := controllers[i]
		go func() {
			if err := iface.Run(5, ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
			}
		}()
	}
	return nil
}

// newInjector is cmd/cainjector's manager without metrics, health probes or leader election,
// injecting into mutating and validating webhook configurations only.
func newInjector(ctx context.Context, cfg *rest.Config) (ctrl.Manager, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiext.AddToScheme(scheme))
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "cert-manager-cainjector"
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{ReaderFailOnMissingInformer: true},
		// Secrets are read directly, not cached (cmd/cainjector does the same; the Secret watches
		// are metadata-only).
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the CA injector's manager: %w", err)
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
		},
	})
	return mgr, err
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "outrigger-e2e-cert-manager: %v\n", err)
		os.Exit(1)
	}
}
