namespace Sluice.Auth;

/// <summary>A plaintext password; usable for every client and server authentication method.</summary>
public sealed class PlainSecret : PasswordSecret
{
    public PlainSecret(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        Password = password;
    }

    public string Password { get; }

    // Never render the password: secrets end up in logs through ToString() far too easily.
    public override string ToString() => "PlainSecret";
}
