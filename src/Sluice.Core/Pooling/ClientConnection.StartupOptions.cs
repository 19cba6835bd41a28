using Sluice.Config;
using Sluice.Protocol;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>The settings found in the "options" startup parameter, kept from the check to the welcome.</summary>
    private List<KeyValuePair<string, string>>? _startupOptions;

    /// <summary>
    /// A tracked setting inside "options" counts as if sent as its own startup parameter; any other one is
    /// refused unless ignore_startup_parameters names it, or names "options" itself (then it is dropped).
    /// </summary>
    private bool CheckStartupOptions(string options, PoolerConfig config, out string? error)
    {
        error = null;
        var settings = new List<KeyValuePair<string, string>>();
        if (!StartupOptions.TryParse(options, settings))
        {
            error = StartupOptions.MalformedError;
            return false;
        }
        var ignoreAll = Contains(config.IgnoreStartupParameters, "options");
        foreach (var (key, _) in settings)
        {
            if (Pooler.Tracked.IndexOf(key) < 0 && !ignoreAll && !Contains(config.IgnoreStartupParameters, key))
            {
                error = $"unsupported startup parameter in options: {key}";
                return false;
            }
        }
        _startupOptions = settings.Count > 0 ? settings : null;
        return true;
    }

    private void ApplyStartupOptions(string?[] values)
    {
        if (_startupOptions is null)
        {
            return;
        }
        foreach (var (key, value) in _startupOptions)
        {
            var index = Pooler.Tracked.IndexOf(key);
            if (index >= 0)
            {
                values[index] = value;
            }
        }
        _startupOptions = null;
    }
}
