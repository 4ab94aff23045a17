using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Worker.Tests.Support;

/// <summary>
/// A certificate authority of the test run's own and a server certificate it issued for <c>localhost</c> and
/// 127.0.0.1, as PEM files (made once per run): what a TLS <see cref="PrivateRedis"/> serves and what a client must
/// be told to trust, since no system store holds this issuer.
/// </summary>
internal static class TestCertificates
{
    private static readonly Lazy<(string Issuer, string Certificate, string Key)> Files = new(Create);

    /// <summary>The issuer's certificate: what <c>SERedis_IssuerCertPath</c> or <c>TrustIssuer</c> names.</summary>
    public static string IssuerPath => Files.Value.Issuer;

    public static string ServerCertificatePath => Files.Value.Certificate;

    public static string ServerKeyPath => Files.Value.Key;

    /// <summary>
    /// Trusts the issuer the way an operator would, through StackExchange.Redis's ambient setting
    /// (<c>SERedis_IssuerCertPath</c>), until disposed. Tests here do not run in parallel.
    /// </summary>
    public static IDisposable TrustAmbiently()
    {
        const string name = "SERedis_IssuerCertPath";
        var before = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, IssuerPath);
        return new Restore(() => Environment.SetEnvironmentVariable(name, before));
    }

    private static (string, string, string) Create()
    {
        var dir = Directory.CreateTempSubdirectory("worker-tls-").FullName;
        var now = DateTimeOffset.UtcNow;
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuerRequest = new CertificateRequest("CN=worker test issuer", issuerKey, HashAlgorithmName.SHA256);
        issuerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        issuerRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        issuerRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(issuerRequest.PublicKey, false));
        using var issuer = issuerRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using var server = serverRequest.Create(issuer, now.AddDays(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(16));

        var files = (Path.Combine(dir, "issuer.pem"), Path.Combine(dir, "server.pem"), Path.Combine(dir, "server.key"));
        File.WriteAllText(files.Item1, issuer.ExportCertificatePem());
        File.WriteAllText(files.Item2, server.ExportCertificatePem());
        File.WriteAllText(files.Item3, serverKey.ExportPkcs8PrivateKeyPem());
        return files;
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
