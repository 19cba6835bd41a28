namespace Sluice.Config;

public sealed class SettingsTableTests
{
    [Fact]
    public void IsAlphabetical_ForShowConfig()
    {
        var names = SettingsTable.All.Select(s => s.Name).ToList();

        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public void HasNoDuplicates()
    {
        var names = SettingsTable.All.Select(s => s.Name).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void EveryDefault_IsValidForItsType()
    {
        foreach (var setting in SettingsTable.All.Where(s => s.Default is not null))
        {
            Assert.True(ValueParser.Validate(setting, setting.Default!, out _) is null, setting.Name);
        }
    }

    [Fact]
    public void EnumSettings_ListTheirValues()
    {
        foreach (var setting in SettingsTable.All)
        {
            Assert.Equal(setting.Type == SettingType.Enum, setting.AllowedValues.Count > 0);
        }
    }

    [Theory]
    [InlineData("auth_dbname")]
    [InlineData("auth_ldap_options")]
    [InlineData("cancel_wait_timeout")]
    [InlineData("client_tls13_ciphers")]
    [InlineData("login_notify_message")]
    [InlineData("max_db_client_connections")]
    [InlineData("max_prepared_statements")]
    [InlineData("max_user_client_connections")]
    [InlineData("peer_id")]
    [InlineData("pool_idle_timeout")]
    [InlineData("query_wait_notify")]
    [InlineData("scram_iterations")]
    [InlineData("server_tls13_ciphers")]
    [InlineData("track_extra_parameters")]
    [InlineData("transaction_timeout")]
    [InlineData("stats_listen_addr")]
    [InlineData("stats_listen_port")]
    public void ContainsNewerKeys(string name)
    {
        Assert.NotNull(SettingsTable.Find(name));
    }

    [Theory]
    [InlineData("listen_addr")]
    [InlineData("listen_port")]
    [InlineData("unix_socket_dir")]
    [InlineData("pidfile")]
    [InlineData("pkt_buf")]
    [InlineData("track_extra_parameters")]
    [InlineData("disable_pqexec")]
    public void BootOnlyKeys_AreNotReloadable(string name)
    {
        Assert.False(SettingsTable.Find(name)!.Reloadable);
    }

    [Fact]
    public void Find_IsCaseSensitive()
    {
        Assert.Null(SettingsTable.Find("Listen_Port"));
    }
}
