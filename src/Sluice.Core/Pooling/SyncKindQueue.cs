namespace Sluice.Pooling;

/// <summary>
/// The order of the messages a server still owes a ReadyForQuery for (Sync, or Query/FunctionCall), with the
/// client's CopyDone/CopyFail in between. PostgreSQL reads and drops Sync messages that arrive while it is in
/// COPY FROM STDIN, so those never get a ReadyForQuery: when the copy ends, the Syncs that reached it during the
/// copy are taken off here, or the server would look busy forever. Not thread-safe: the owner locks.
/// </summary>
internal sealed class SyncKindQueue
{
    public const byte Sync = (byte)'S';
    public const byte Query = (byte)'Q';
    public const byte CopyEnd = (byte)'c';

    private byte[] _items = [];
    private int _head;
    private int _count;

    public void Clear() => _head = _count = 0;

    /// <summary>The oldest item, or 0 when empty.</summary>
    public byte Peek() => _count == 0 ? (byte)0 : _items[_head];

    public void Push(byte kind)
    {
        if (_count == _items.Length)
        {
            var bigger = new byte[Math.Max(8, _items.Length * 2)];
            for (var i = 0; i < _count; i++)
            {
                bigger[i] = _items[(_head + i) % _items.Length];
            }
            _items = bigger;
            _head = 0;
        }
        _items[(_head + _count) % _items.Length] = kind;
        _count++;
    }

    /// <summary>A ReadyForQuery came: drops leftover copy-end marks, then the message it answers.</summary>
    public void PopAnswered()
    {
        while (_count > 0)
        {
            var kind = _items[_head];
            RemoveHead();
            if (kind != CopyEnd)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The server left COPY FROM STDIN (CommandComplete or ErrorResponse): removes the Syncs sent before the
    /// client's CopyDone/CopyFail (all of them when none was sent yet) and that mark. <paramref name="keepHead"/>
    /// spares the Query that started the copy: its ReadyForQuery is still due. Returns how many Syncs went.
    /// </summary>
    public int DropSyncsSentDuringCopy(bool keepHead)
    {
        var dropped = 0;
        var kept = 0;
        var read = 0;
        var keep = new byte[_count];
        if (keepHead && _count > 0)
        {
            keep[kept++] = _items[_head];
            read = 1;
        }
        var copyEndSeen = false;
        for (; read < _count; read++)
        {
            var kind = _items[(_head + read) % _items.Length];
            if (!copyEndSeen && kind == Sync)
            {
                dropped++;
                continue;
            }
            if (!copyEndSeen && kind == CopyEnd)
            {
                copyEndSeen = true;
                continue;
            }
            keep[kept++] = kind;
        }
        Array.Copy(keep, _items, kept);
        _head = 0;
        _count = kept;
        return dropped;
    }

    private void RemoveHead()
    {
        _head = (_head + 1) % _items.Length;
        _count--;
    }
}
