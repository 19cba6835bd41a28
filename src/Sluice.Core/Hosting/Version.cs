using System.Reflection;

namespace Sluice.Hosting;

/// <summary>The product version shown by <c>-V</c>, the log and SHOW VERSION.</summary>
public static class Version
{
    public static string Text { get; } =
        typeof(Version).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.1.0";
}
