namespace Sluice.Pooling.Prepared;

/// <summary>A ring buffer of expected replies; grows when a client pipelines deeply, never shrinks below its start size.</summary>
internal sealed class ExpectationQueue
{
    private Expectation[] _items = new Expectation[16];
    private int _head;
    private int _count;

    public int Count => _count;

    public Expectation Peek() => _items[_head];

    public void Enqueue(Expectation item)
    {
        if (_count == _items.Length)
        {
            var bigger = new Expectation[_items.Length * 2];
            for (var i = 0; i < _count; i++)
            {
                bigger[i] = _items[(_head + i) % _items.Length];
            }
            _items = bigger;
            _head = 0;
        }
        _items[(_head + _count) % _items.Length] = item;
        _count++;
    }

    public Expectation Dequeue()
    {
        var item = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        _count--;
        return item;
    }

    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        _count = 0;
    }
}
