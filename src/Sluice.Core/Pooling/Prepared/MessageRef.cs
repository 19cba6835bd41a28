namespace Sluice.Pooling.Prepared;

/// <summary>Where one client message sits in the read buffer; <see cref="Length"/> is what is in the buffer (the whole message unless it is streamed).</summary>
internal readonly record struct MessageRef(int Offset, int Length, byte Code, bool Named);
