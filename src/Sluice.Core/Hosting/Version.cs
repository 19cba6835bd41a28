using System.Reflection;

namespace Sluice.Hosting;

/// <summary>The product version shown by <c>-V</c>, the log and SHOW VERSION.</summary>
public static class Version
{
    /// <summary>The PgBouncer release whose console Sluice reproduces; tools parse "PgBouncer X.Y.Z" to pick columns.</summary>
    public const string CompatibleVersion = "1.25.2";

    public static string Text { get; } =
        typeof(Version).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.1.0";

    /// <summary>
    /// What SHOW VERSION answers and the first line of <c>--version</c>: the two must agree (PgBouncer's suite
    /// compares them), and monitoring tools read the PgBouncer release from its leading "PgBouncer X.Y.Z".
    /// </summary>
    public static string Banner { get; } = $"PgBouncer {CompatibleVersion} (Sluice {Text})";
}
