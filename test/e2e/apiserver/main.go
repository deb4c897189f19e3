// Command outrigger-e2e-apiserver runs a real kube-apiserver with an embedded etcd in one process,
// the way Kubernetes' own integration tests do (cmd/kube-apiserver/app/testing.StartTestServer),
// for Outrigger's end-to-end tests.
//
//	outrigger-e2e-apiserver serve -dir DIR [flags] [-- extra kube-apiserver flags]
//	outrigger-e2e-apiserver cert -out DIR -dns a.b.svc[,..] [-ip 127.0.0.1[,..]]
//	outrigger-e2e-apiserver version
//
// serve writes into DIR, once /readyz answers: a CA, an admin client certificate (group
// system:masters), kubeconfig, and ready.json (see readyInfo). It serves until SIGTERM or SIGINT
// (or until stdin closes, with -exit-on-stdin-close) and then stops the apiserver and etcd and
// exits 0.
//
// Service-referenced webhooks (and conversion webhooks, and aggregated APIs) are dialed through a
// resolver that reads the JSON file given by -service-map on every new connection:
//
//	{ "<name>.<namespace>.svc:<port>": "127.0.0.1:34567" }
//
// so tests can start webhook servers after the apiserver and point services at them. The apiserver
// still connects with TLS server name <name>.<namespace>.svc over HTTP/1.1, as in production.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	clientcmd "k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"

	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "serve":
		os.Exit(serve(os.Args[2:]))
	case "cert":
		os.Exit(certCommand(os.Args[2:]))
	case "version":
		fmt.Println(version.Get().GitVersion)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: outrigger-e2e-apiserver serve -dir DIR [flags] [-- kube-apiserver flags] | cert -out DIR -dns NAMES | version")
	os.Exit(2)
}

// readyInfo is written to DIR/ready.json once the apiserver answers /readyz.
type readyInfo struct {
	URL            string   `json:"url"`
	Version        string   `json:"version"`
	PID            int      `json:"pid"`
	CAPath         string   `json:"caPath"`
	ClientCertPath string   `json:"clientCertPath"`
	ClientKeyPath  string   `json:"clientKeyPath"`
	KubeconfigPath string   `json:"kubeconfigPath"`
	ServiceMapPath string   `json:"serviceMapPath"`
	EtcdURL        string   `json:"etcdURL"`
	EtcdDataDir    string   `json:"etcdDataDir"`
	APIServerFlags []string `json:"apiserverFlags"`
	StartupSeconds float64  `json:"startupSeconds"`
}

func serve(args []string) int {
	started := time.Now()
	fs := flag.CommandLine
	if fs.Lookup("v") == nil { // ktesting's init usually registers klog's -v, -vmodule already
		klog.InitFlags(fs)
	}
	// The ktesting logger StartTestServer installs copies -v; its own default (5) logs every request.
	_ = fs.Set("v", "2")
	dir := fs.String("dir", "", "directory for certificates, kubeconfig and ready.json (required)")
	etcdDir := fs.String("etcd-data-dir", "", "etcd data directory (default DIR/etcd); reuse it to restart against the same data")
	etcdFsync := fs.Bool("etcd-fsync", false, "fsync etcd writes (off by default, as in Kubernetes' tests)")
	serviceMap := fs.String("service-map", "", "JSON file mapping <name>.<namespace>.svc:<port> to host:port, read on every dial (default DIR/services.json)")
	saAdmission := fs.Bool("service-account-admission", false, "keep the ServiceAccount admission plugin on (then each namespace needs a 'default' ServiceAccount, as no controller creates one)")
	exitOnStdin := fs.Bool("exit-on-stdin-close", false, "shut down when stdin reaches EOF (the parent died)")
	removeDir := fs.Bool("remove-dir-on-exit", false, "remove DIR (certificates, logs, etcd data unless elsewhere) on shutdown")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "serve: -dir is required")
		return 2
	}
	must := func(err error) {
		if err != nil {
			klog.ErrorS(err, "startup failed")
			os.Exit(1)
		}
	}
	absDir, err := filepath.Abs(*dir)
	must(err)
	must(os.MkdirAll(absDir, 0o700))
	_ = os.Remove(filepath.Join(absDir, "ready.json"))
	if *etcdDir == "" {
		*etcdDir = filepath.Join(absDir, "etcd")
	}
	if *serviceMap == "" {
		*serviceMap = filepath.Join(absDir, "services.json")
	}
	if _, err := os.Stat(*serviceMap); errors.Is(err, os.ErrNotExist) {
		must(writeFileAtomic(*serviceMap, []byte("{}\n"), 0o600))
	}

	pki, err := loadOrCreatePKI(absDir)
	must(err)

	// Stop on SIGTERM/SIGINT/SIGHUP, when the parent goes away (stdin EOF) or when etcd fails.
	// A second signal during shutdown exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	stdinClosed := make(chan struct{})
	if *exitOnStdin {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()
	}
	etcdFailed := make(chan error, 1)

	// etcd, embedded.
	etcd, etcdURL, err := startEtcd(*etcdDir, !*etcdFsync)
	must(err)
	closeEtcd := sync.OnceFunc(etcd.Close) // Close is not idempotent
	defer closeEtcd()
	go func() {
		if err := <-etcd.Err(); err != nil {
			etcdFailed <- err
		}
	}()

	// Service references resolve through a file the tests rewrite.
	resetResolver := app.SetServiceResolverForTests(fileResolver{path: *serviceMap})
	defer resetResolver()

	storage := storagebackend.NewDefaultConfig("/registry", nil)
	storage.Transport.ServerList = []string{etcdURL}

	flags := []string{
		"--endpoint-reconciler-type=none", // no kubelet or endpoints: keep 127.0.0.1 out of the kubernetes Service
		"--authorization-mode=Node,RBAC",  // as kubeadm; the admin certificate is in system:masters
		"--allow-privileged=true",         // as kubeadm
		"--service-cluster-ip-range=10.0.0.0/16",
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.clientCA,
		// One API server has no peers to proxy to. From 1.36 the gate is on by default, and the test
		// server then wants its own generated certificate as the peer CA, which --tls-cert-file replaces.
		"--feature-gates=UnknownVersionInteroperabilityProxy=false",
	}
	if !*saAdmission {
		// No service account controller runs here to create the 'default' ServiceAccount.
		flags = append(flags, "--disable-admission-plugins=ServiceAccount")
	}
	flags = append(flags, fs.Args()...)

	tb := newProcessTB(absDir)
	server, err := apiservertesting.StartTestServer(tb, apiservertesting.NewDefaultTestServerOptions(), flags, storage)
	if err != nil {
		tb.runCleanups()
		closeEtcd()
		klog.ErrorS(err, "kube-apiserver did not start")
		return 1
	}
	tearDown := func() {
		server.TearDownFn()
		tb.runCleanups()
	}

	host := server.ClientConfig.Host // https://127.0.0.1:PORT
	serverURL := host
	if !strings.HasPrefix(serverURL, "https://") {
		serverURL = "https://" + serverURL
	}
	gitVersion, err := waitReady(serverURL, pki, 60*time.Second)
	if err != nil {
		tearDown()
		closeEtcd()
		klog.ErrorS(err, "kube-apiserver never became ready")
		return 1
	}

	kubeconfigPath := filepath.Join(absDir, "kubeconfig")
	must(writeKubeconfig(kubeconfigPath, serverURL, pki))
	info := readyInfo{
		URL:            serverURL,
		Version:        gitVersion,
		PID:            os.Getpid(),
		CAPath:         pki.servingCA,
		ClientCertPath: pki.adminCert,
		ClientKeyPath:  pki.adminKey,
		KubeconfigPath: kubeconfigPath,
		ServiceMapPath: *serviceMap,
		EtcdURL:        etcdURL,
		EtcdDataDir:    *etcdDir,
		APIServerFlags: flags,
		StartupSeconds: time.Since(started).Seconds(),
	}
	readyJSON, _ := json.MarshalIndent(info, "", "  ")
	must(writeFileAtomic(filepath.Join(absDir, "ready.json"), append(readyJSON, '\n'), 0o600))
	fmt.Fprintf(os.Stderr, "outrigger-e2e-apiserver: %s ready at %s in %.1fs (dir %s)\n", gitVersion, serverURL, info.StartupSeconds, absDir)

	var why string
	select {
	case s := <-sigs:
		why = "signal " + s.String()
	case <-stdinClosed:
		why = "stdin closed"
	case err := <-etcdFailed:
		why = "etcd failed: " + err.Error()
	}
	fmt.Fprintf(os.Stderr, "outrigger-e2e-apiserver: %s, shutting down\n", why)
	_ = os.Remove(filepath.Join(absDir, "ready.json"))
	done := make(chan struct{})
	go func() {
		tearDown()
		closeEtcd()
		close(done)
	}()
	// A parent that dies closes stdin and (through setpriv --pdeathsig) sends SIGTERM: only a
	// signal after a signal means "hurry".
	hurry := strings.HasPrefix(why, "signal")
	timeout := time.After(60 * time.Second)
	code := 0
wait:
	for {
		select {
		case <-done:
			fmt.Fprintln(os.Stderr, "outrigger-e2e-apiserver: stopped")
			break wait
		case <-timeout:
			fmt.Fprintln(os.Stderr, "outrigger-e2e-apiserver: shutdown took more than 60s, exiting anyway")
			code = 1
			break wait
		case s := <-sigs:
			if hurry {
				fmt.Fprintf(os.Stderr, "outrigger-e2e-apiserver: second signal (%s) during shutdown, exiting now\n", s)
				code = 1
				break wait
			}
			hurry = true
		}
	}
	if *removeDir {
		_ = os.RemoveAll(absDir)
	}
	return code
}

// --- service resolver -------------------------------------------------------------------------

type fileResolver struct{ path string }

// ResolveEndpoint implements k8s.io/apiserver/pkg/util/webhook.ServiceResolver. Keys are
// "<name>.<namespace>.svc:<port>" (or without ":<port>" for any port); values "host:port".
func (r fileResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	data, err := os.ReadFile(r.path)
	if err != nil {
		return nil, fmt.Errorf("service map %s: %w", r.path, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("service map %s: %w", r.path, err)
	}
	svc := name + "." + namespace + ".svc"
	target, ok := m[svc+":"+strconv.Itoa(int(port))]
	if !ok {
		target, ok = m[svc]
	}
	if !ok {
		return nil, fmt.Errorf("service %s port %d has no endpoint in the e2e service map %s", svc, port, r.path)
	}
	target = strings.TrimPrefix(target, "https://")
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("service map %s: %s: bad host:port %q", r.path, svc, target)
	}
	return &url.URL{Scheme: "https", Host: target}, nil
}

// --- etcd ---------------------------------------------------------------------------------------

func startEtcd(dataDir string, noFsync bool) (*embed.Etcd, string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", err
	}
	_ = os.Chmod(dataDir, 0o700)
	ports, err := freePorts(2)
	if err != nil {
		return nil, "", err
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}

	cfg := embed.NewConfig()
	cfg.Name = "outrigger-e2e"
	cfg.Dir = dataDir
	cfg.UnsafeNoFsync = noFsync
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd took more than 60s to start")
	}
	return e, clientURL.String(), nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// --- readiness, kubeconfig ---------------------------------------------------------------------

func adminHTTPClient(p *pkiFiles) (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(p.adminCert, p.adminKey)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(p.servingCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12,
		}},
	}, nil
}

// waitReady polls /readyz with the admin credentials, then reads /version.
func waitReady(serverURL string, p *pkiFiles, timeout time.Duration) (string, error) {
	client, err := adminHTTPClient(p)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := client.Get(serverURL + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			last = fmt.Sprintf("/readyz %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !time.Now().Before(deadline) {
		return "", fmt.Errorf("timed out: %s", last)
	}
	resp, err := client.Get(serverURL + "/version")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", fmt.Errorf("/version: %w", err)
	}
	return v.GitVersion, nil
}

func writeKubeconfig(path, serverURL string, p *pkiFiles) error {
	read := func(f string) []byte { b, _ := os.ReadFile(f); return b }
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["outrigger-e2e"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: read(p.servingCA)}
	cfg.AuthInfos["outrigger-e2e-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: read(p.adminCert), ClientKeyData: read(p.adminKey)}
	cfg.Contexts["outrigger-e2e"] = &clientcmdapi.Context{Cluster: "outrigger-e2e", AuthInfo: "outrigger-e2e-admin", Namespace: "default"}
	cfg.CurrentContext = "outrigger-e2e"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// --- certificates --------------------------------------------------------------------------------

type pkiFiles struct {
	servingCA, servingCert, servingKey string
	clientCA, adminCert, adminKey      string
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// loadOrCreatePKI keeps existing files so that a restart against the same DIR keeps its CA.
func loadOrCreatePKI(dir string) (*pkiFiles, error) {
	p := &pkiFiles{
		servingCA: filepath.Join(dir, "ca.crt"), servingCert: filepath.Join(dir, "apiserver.crt"), servingKey: filepath.Join(dir, "apiserver.key"),
		clientCA: filepath.Join(dir, "client-ca.crt"), adminCert: filepath.Join(dir, "admin.crt"), adminKey: filepath.Join(dir, "admin.key"),
	}
	exists := true
	for _, f := range []string{p.servingCA, p.servingCert, p.servingKey, p.clientCA, p.adminCert, p.adminKey} {
		if _, err := os.Stat(f); err != nil {
			exists = false
		}
	}
	if exists {
		return p, nil
	}
	ca, err := newCA("outrigger-e2e-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.issue(pkix.Name{CommonName: "kube-apiserver"}, false,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.0.0.1")})
	if err != nil {
		return nil, err
	}
	clientCA, err := newCA("outrigger-e2e-client-ca")
	if err != nil {
		return nil, err
	}
	admin, err := clientCA.issue(pkix.Name{CommonName: "outrigger-e2e-admin", Organization: []string{"system:masters"}}, true, nil, nil)
	if err != nil {
		return nil, err
	}
	for _, w := range []struct {
		path string
		data []byte
	}{
		{p.servingCA, certPEM(ca.cert)}, {p.servingCert, certPEM(serving.cert)}, {p.servingKey, keyPEM(serving.key)},
		{p.clientCA, certPEM(clientCA.cert)}, {p.adminCert, certPEM(admin.cert)}, {p.adminKey, keyPEM(admin.key)},
	} {
		if err := writeFileAtomic(w.path, w.data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

var serialMu sync.Mutex

func serial() *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

func newCA(cn string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &keyPair{cert: cert, key: key}, err
}

func (ca *keyPair) issue(subject pkix.Name, client bool, dns []string, ips []net.IP) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: subject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames:    dns, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &keyPair{cert: cert, key: key}, err
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// certCommand issues a serving certificate (for a webhook server) from a fresh CA: used by the
// TypeScript harness when the openssl CLI is missing.
func certCommand(args []string) int {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	out := fs.String("out", "", "output directory for ca.crt, tls.crt, tls.key")
	dns := fs.String("dns", "", "comma-separated DNS names")
	ips := fs.String("ip", "", "comma-separated IP addresses")
	if err := fs.Parse(args); err != nil || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: cert -out DIR -dns a.b.svc[,..] [-ip 127.0.0.1]")
		return 2
	}
	var dnsNames []string
	var ipList []net.IP
	for _, d := range strings.Split(*dns, ",") {
		if d = strings.TrimSpace(d); d != "" {
			dnsNames = append(dnsNames, d)
		}
	}
	for _, s := range strings.Split(*ips, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ip := net.ParseIP(s)
			if ip == nil {
				fmt.Fprintf(os.Stderr, "cert: bad IP %q\n", s)
				return 2
			}
			ipList = append(ipList, ip)
		}
	}
	cn := "outrigger-e2e-webhook"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	ca, err := newCA("outrigger-e2e-webhook-ca")
	if err == nil {
		var leaf *keyPair
		leaf, err = ca.issue(pkix.Name{CommonName: cn}, false, dnsNames, ipList)
		if err == nil {
			err = os.MkdirAll(*out, 0o700)
			for _, w := range []struct {
				name string
				data []byte
			}{{"ca.crt", certPEM(ca.cert)}, {"tls.crt", certPEM(leaf.cert)}, {"tls.key", keyPEM(leaf.key)}} {
				if err == nil {
					err = writeFileAtomic(filepath.Join(*out, w.name), w.data, 0o600)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cert:", err)
		return 1
	}
	return 0
}

// --- a testing.TB stand-in for StartTestServer ---------------------------------------------------

// processTB satisfies k8s.io/kubernetes/test/utils/ktesting.TB for a long-running process: logs go
// to stderr, cleanups run at shutdown, and a fatal error ends the process.
type processTB struct {
	mu       sync.Mutex
	dir      string
	cleanups []func()
	failed   bool
}

func newProcessTB(dir string) *processTB { return &processTB{dir: dir} }

func (t *processTB) Cleanup(f func()) { t.mu.Lock(); t.cleanups = append(t.cleanups, f); t.mu.Unlock() }
func (t *processTB) runCleanups() {
	t.mu.Lock()
	fns := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
func (t *processTB) Error(args ...any)                 { t.Log(args...); t.Fail() }
func (t *processTB) Errorf(format string, args ...any) { t.Logf(format, args...); t.Fail() }
func (t *processTB) Fail()                             { t.mu.Lock(); t.failed = true; t.mu.Unlock() }
func (t *processTB) FailNow() {
	t.Fail()
	fmt.Fprintln(os.Stderr, "outrigger-e2e-apiserver: fatal error, exiting")
	t.runCleanups()
	os.Exit(1)
}
func (t *processTB) Failed() bool                      { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }
func (t *processTB) Fatal(args ...any)                 { t.Log(args...); t.FailNow() }
func (t *processTB) Fatalf(format string, args ...any) { t.Logf(format, args...); t.FailNow() }
func (t *processTB) Helper()                           {}
func (t *processTB) Log(args ...any)                   { fmt.Fprintln(os.Stderr, args...) }
func (t *processTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, strings.TrimSuffix(format, "\n")+"\n", args...)
}
func (t *processTB) Name() string                     { return "outrigger-e2e-apiserver" }
func (t *processTB) Setenv(key, value string)         { _ = os.Setenv(key, value) }
func (t *processTB) Skip(args ...any)                 { t.Fatal(append([]any{"skip:"}, args...)...) }
func (t *processTB) SkipNow()                         { t.FailNow() }
func (t *processTB) Skipf(format string, args ...any) { t.Fatalf("skip: "+format, args...) }
func (t *processTB) Skipped() bool                    { return false }
func (t *processTB) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "tmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// Attr and Chdir joined TB in later releases (1.37); older ones ignore them.
func (t *processTB) Attr(key, value string) { t.Logf("%s=%s", key, value) }
func (t *processTB) Chdir(dir string) {
	if err := os.Chdir(dir); err != nil {
		t.Fatalf("chdir %s: %v", dir, err)
	}
}
