/// A fixed number of elements stored inline, with no heap buffer: the baseline's rings and
/// hour-of-day tables.
///
/// Writing an element costs no copy-on-write check and no reference counting, which matters on
/// the per-event path (a `[Float]` pays both on every write). It is a collection, so `map`,
/// `reduce`, `indices` and `for … in` work as on an array.
public struct FixedArray<let size: Int, Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection {
    private var storage: InlineArray<size, Element>

    /// Creates `size` copies of `value`.
    public init(repeating value: Element) { storage = InlineArray(repeating: value) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { size }

    public subscript(position: Int) -> Element {
        @inline(__always) get { storage[position] }
        @inline(__always) set { storage[position] = newValue }
    }
}

extension FixedArray: Sendable where Element: Sendable {}

extension FixedArray: Equatable where Element: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.elementsEqual(b) }
}

extension FixedArray: Hashable where Element: Hashable {
    public func hash(into hasher: inout Hasher) {
        for element in self { hasher.combine(element) }
    }
}
