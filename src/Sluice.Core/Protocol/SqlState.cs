namespace Sluice.Protocol;

/// <summary>SQLSTATE codes Sluice itself emits (PostgreSQL Appendix A).</summary>
internal static class SqlState
{
    public const string ProtocolViolation = "08P01";
    public const string ConnectionFailure = "08006";
    public const string InvalidAuthorizationSpecification = "28000";
    public const string InvalidPassword = "28P01";
    public const string InsufficientPrivilege = "42501";
    public const string InvalidCatalogName = "3D000";
    public const string TooManyConnections = "53300";
    public const string AdminShutdown = "57P01";
    public const string CannotConnectNow = "57P03";
    public const string FeatureNotSupported = "0A000";
    public const string QueryCanceled = "57014";
    public const string ConfigFileError = "F0000";
}
