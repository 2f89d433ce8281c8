package dev.nodal.parallel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS 1.3 for one rank's ring connections. Each rank makes a key pair of its own (EC P-256) and a
 * certificate for it signed by itself; nothing about TLS is shared or sent ahead. The TLS layer
 * takes any certificate: who is at the other end is proved by the ring's HMAC handshake, run
 * inside TLS, which signs both ends' public keys as each end sees them. A program in the middle,
 * terminating TLS on both sides with certificates of its own, shows each rank its own key, so the
 * two ranks sign different keys: the accepting rank finds the proof wrong and refuses the
 * connection, and the connecting rank's join fails.
 */
final class RingTls {
  private final SSLContext context;

  private RingTls(SSLContext context) {
    this.context = context;
  }

  /** A fresh key pair and certificate for this rank's connections. */
  static RingTls create(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      KeyPair pair = generator.generateKeyPair();
      X509Certificate certificate = selfSigned(pair, random);
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      char[] password = "ring".toCharArray(); // the store never leaves memory
      store.setKeyEntry("ring", pair.getPrivate(), password, new Certificate[] {certificate});
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, password);
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(keys.getKeyManagers(), new TrustManager[] {ANY_CERTIFICATE}, random);
      return new RingTls(context);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("this JVM cannot make the ring's TLS key or context: " + e, e);
    }
  }

  /** TLS over a connection this rank made to the next rank, the handshake done. */
  SSLSocket client(Socket connected) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(connected,
        connected.getInetAddress().getHostAddress(), connected.getPort(), true);
    RAW.put(s, connected);
    s.setEnabledProtocols(TLS_13);
    s.setUseClientMode(true);
    s.startHandshake();
    return s;
  }

  /** TLS over a connection this rank accepted, the previous rank's certificate required, the handshake done. */
  SSLSocket server(Socket accepted) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(accepted, null, true);
    RAW.put(s, accepted);
    s.setEnabledProtocols(TLS_13);
    s.setUseClientMode(false);
    s.setNeedClientAuth(true);
    s.startHandshake();
    return s;
  }

  private static final String[] TLS_13 = {"TLSv1.3"};

  /** The TCP connections under the TLS sockets made here. */
  private static final java.util.Map<Socket, Socket> RAW = java.util.Collections.synchronizedMap(
      new java.util.WeakHashMap<>());

  /**
   * The TCP connection under {@code s}, or {@code s} itself. Closing a TLS socket reads what is
   * left of its input until the peer closes too (the heartbeats keep coming) and waits on a
   * thread that reads it; closing the connection under it ends both at once.
   */
  static Socket raw(Socket s) {
    Socket raw = RAW.get(s);
    return raw == null ? s : raw;
  }

  /**
   * What the ring's handshake signs of a TLS connection: the connecting end's public key, then
   * the accepting end's, as this end sees them; empty for a plain connection.
   */
  static byte[] binding(Socket s) throws IOException {
    if (!(s instanceof SSLSocket ssl)) return new byte[0];
    byte[] local = ssl.getSession().getLocalCertificates()[0].getPublicKey().getEncoded();
    byte[] peer = ssl.getSession().getPeerCertificates()[0].getPublicKey().getEncoded();
    byte[] first = ssl.getUseClientMode() ? local : peer, second = ssl.getUseClientMode() ? peer : local;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(first.length >>> 8);
    out.write(first.length);
    out.writeBytes(first);
    out.writeBytes(second);
    return out.toByteArray();
  }

  /** Takes every certificate: the ring's handshake, not a certificate authority, proves the peer. */
  private static final X509ExtendedTrustManager ANY_CERTIFICATE = new X509ExtendedTrustManager() {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  };

  // A self-signed X.509 v3 certificate in DER (RFC 5280), with no extensions: the least TLS takes.

  private static final byte[] ECDSA_WITH_SHA256 = {0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x04, 0x03, 0x02};
  private static final byte[] COMMON_NAME = {0x55, 0x04, 0x03};

  private static X509Certificate selfSigned(KeyPair pair, SecureRandom random)
      throws GeneralSecurityException, IOException {
    byte[] algorithm = der(0x30, der(0x06, ECDSA_WITH_SHA256));
    byte[] name = der(0x30, der(0x31, der(0x30, der(0x06, COMMON_NAME),
        der(0x0C, "nodal ring".getBytes(StandardCharsets.UTF_8)))));
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    DateTimeFormatter utc = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");
    byte[] validity = der(0x30, der(0x17, now.minusDays(1).format(utc).getBytes(StandardCharsets.US_ASCII)),
        der(0x17, now.plusYears(1).format(utc).getBytes(StandardCharsets.US_ASCII)));
    byte[] serial = new BigInteger(63, random).add(BigInteger.ONE).toByteArray();
    byte[] tbs = der(0x30, der(0xA0, der(0x02, new byte[] {2})), der(0x02, serial), algorithm, name, validity, name,
        pair.getPublic().getEncoded());
    Signature signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(pair.getPrivate(), random);
    signer.update(tbs);
    byte[] signature = signer.sign();
    byte[] bits = new byte[signature.length + 1]; // no unused bits
    System.arraycopy(signature, 0, bits, 1, signature.length);
    byte[] certificate = der(0x30, tbs, algorithm, der(0x03, bits));
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new java.io.ByteArrayInputStream(certificate));
  }

  /** A DER element: {@code tag}, the length of {@code parts} together, then the parts. */
  private static byte[] der(int tag, byte[]... parts) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (byte[] p : parts) body.writeBytes(p);
    int n = body.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    if (n < 0x80) {
      out.write(n);
    } else {
      int bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) out.write(n >>> (8 * i));
    }
    out.writeBytes(body.toByteArray());
    return out.toByteArray();
  }
}
