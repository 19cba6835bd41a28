namespace Sluice.Auth;

public sealed class SecureRandomTests
{
    [Fact]
    public void DrawsDoNotRepeatAcrossManyBlocks()
    {
        var seen = new HashSet<string>();
        var draw = new byte[18];
        for (var i = 0; i < 2_000; i++)
        {
            SecureRandom.Fill(draw);
            Assert.True(seen.Add(Convert.ToBase64String(draw)), $"draw {i} repeated an earlier one");
        }
    }

    [Fact]
    public void FillsEveryByteOfLargeAndSmallDraws()
    {
        // A draw that was not written stays all zero; 64 random bytes are all zero with probability 2^-512.
        foreach (var size in new[] { 1, 4, 18, 64, 65, 1000 })
        {
            var zeroRuns = 0;
            for (var attempt = 0; attempt < 8; attempt++)
            {
                var draw = new byte[size];
                SecureRandom.Fill(draw);
                if (draw.AsSpan().IndexOfAnyExcept((byte)0) < 0)
                {
                    zeroRuns++;
                }
            }

            Assert.True(zeroRuns < (size == 1 ? 3 : 1), $"size {size}: {zeroRuns} of 8 draws all zero");
        }
    }

    [Fact]
    public void Int32DrawsCoverBothSigns()
    {
        var negative = 0;
        for (var i = 0; i < 1_000; i++)
        {
            if (SecureRandom.NextInt32() < 0)
            {
                negative++;
            }
        }

        Assert.InRange(negative, 350, 650);
    }
}
