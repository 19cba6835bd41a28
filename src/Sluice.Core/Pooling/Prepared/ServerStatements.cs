namespace Sluice.Pooling.Prepared;

/// <summary>
/// The statements prepared on one server, least recently used first, capped at max_prepared_statements.
/// Touched by the linked client's loop (prepare, use) and the server's read loop (a Parse that failed).
/// </summary>
internal sealed class ServerStatements
{
    private readonly Dictionary<long, LinkedListNode<PreparedStatement>> _byId = [];
    private readonly LinkedList<PreparedStatement> _lru = new();

    /// <summary>How many statements were ever recorded here: each one is a Parse sent to this server (SHOW STATS' server parses).</summary>
    public long AddedTotal { get; private set; }

    public int Count
    {
        get
        {
            lock (_lru)
            {
                return _byId.Count;
            }
        }
    }

    /// <summary>True if prepared on this server; marks it most recently used.</summary>
    public bool Touch(PreparedStatement statement)
    {
        lock (_lru)
        {
            if (!_byId.TryGetValue(statement.Id, out var node))
            {
                return false;
            }
            _lru.Remove(node);
            _lru.AddLast(node);
            return true;
        }
    }

    /// <summary>Records a statement about to be prepared; returns the one to close first when over <paramref name="capacity"/>.</summary>
    public PreparedStatement? Add(PreparedStatement statement, int capacity)
    {
        lock (_lru)
        {
            _byId[statement.Id] = _lru.AddLast(statement);
            AddedTotal++;
            if (capacity > 0 && _byId.Count > capacity && _lru.First is { } oldest && oldest.Value != statement)
            {
                _lru.RemoveFirst();
                _byId.Remove(oldest.Value.Id);
                return oldest.Value;
            }
            return null;
        }
    }

    /// <summary>Takes out the least recently used statement while more than <paramref name="keep"/> are prepared; null otherwise.</summary>
    public PreparedStatement? TakeOldestBeyond(int keep)
    {
        lock (_lru)
        {
            if (_byId.Count <= keep || _lru.First is not { } oldest)
            {
                return null;
            }
            _lru.RemoveFirst();
            _byId.Remove(oldest.Value.Id);
            return oldest.Value;
        }
    }

    public void Remove(PreparedStatement statement)
    {
        lock (_lru)
        {
            if (_byId.Remove(statement.Id, out var node))
            {
                _lru.Remove(node);
            }
        }
    }

    /// <summary>DEALLOCATE ALL / DISCARD ALL ran on the server.</summary>
    public void Clear()
    {
        lock (_lru)
        {
            _byId.Clear();
            _lru.Clear();
        }
    }
}
