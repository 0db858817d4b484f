package contracts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCertificate makes a self-signed certificate and its key in dir;
// with a password the key is written with legacy PEM encryption.
func writeCertificate(t *testing.T, dir, name, password string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyBlock := &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}
	if password != "" {
		//nolint:staticcheck // the legacy format is what the test needs
		if keyBlock, err = x509.EncryptPEMBlock(rand.Reader, keyBlock.Type, keyDER, []byte(password), x509.PEMCipherAES256); err != nil {
			t.Fatal(err)
		}
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(keyBlock), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// The KAFKA_SSL_* variables give a TLS configuration that completes a
// handshake with a server requiring client certificates, and a wrong key
// password or a PKCS#8-encrypted key is a ConfigError saying what to do.
func TestTLSSettingsFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	serverCert, serverKey := writeCertificate(t, dir, "server", "")
	clientCert, clientKey := writeCertificate(t, dir, "client", "key-secret")
	cfg := clientConfig{}
	err := cfg.resolve(fakeEnv(map[string]string{
		EnvBootstrapServers: "127.0.0.1:1", EnvSecurityProtocol: "SSL", EnvSSLCALocation: serverCert,
		EnvSSLCertLocation: clientCert, EnvSSLKeyLocation: clientKey, EnvSSLKeyPassword: "key-secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := cfg.buildTLSConfig()
	if err != nil {
		t.Fatal(err)
	}

	serverPair, err := tls.LoadX509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clientPool := x509.NewCertPool()
	clientPEM, _ := os.ReadFile(clientCert)
	clientPool.AppendCertsFromPEM(clientPEM)
	listener, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverPair}, ClientCAs: clientPool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	accepted := make(chan error, 1)
	go func() {
		conn, err := listener.Accept()
		if err == nil {
			err = conn.(*tls.Conn).Handshake()
			_ = conn.Close()
		}
		accepted <- err
	}()
	conn, err := tls.Dial("tcp", listener.Addr().String(), clientTLS)
	if err != nil {
		t.Fatalf("handshake with the client certificate: %v", err)
	}
	_ = conn.Close()
	if err := <-accepted; err != nil {
		t.Fatalf("server side: %v", err)
	}

	cfg.keyPassword = "wrong"
	if _, err := cfg.buildTLSConfig(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Errorf("wrong key password: %v", err)
	}
	cfg.keyPassword = ""
	if _, err := cfg.buildTLSConfig(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), EnvSSLKeyPassword) {
		t.Errorf("encrypted key without password: %v", err)
	}
	pkcs8 := filepath.Join(dir, "pkcs8.key")
	_ = os.WriteFile(pkcs8, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), 0o600)
	cfg.keyLocation = pkcs8
	if _, err := cfg.buildTLSConfig(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "openssl pkcs8") {
		t.Errorf("encrypted PKCS#8 key: %v", err)
	}
}
