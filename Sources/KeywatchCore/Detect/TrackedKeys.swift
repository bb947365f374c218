extension DetectionEngine {
    /// The tracked keys in one contiguous buffer, changed in place.
    ///
    /// A `[TrackedKey]` would do, but the engine's detectors take the key's state `inout` while they
    /// also read the engine, which an array element of the engine itself cannot be. Here the hot
    /// path takes a pointer to the element once per event, after one uniqueness check of the
    /// buffer (``DetectionEngine`` stays a value: a shared buffer is copied before it is changed).
    final class TrackedKeys {
        private(set) var base: UnsafeMutablePointer<TrackedKey>
        private(set) var count = 0
        private var capacity: Int

        init(capacity: Int = 16) {
            self.capacity = max(capacity, 1)
            base = .allocate(capacity: self.capacity)
        }

        deinit {
            base.deinitialize(count: count)
            base.deallocate()
        }

        func append(_ key: TrackedKey) {
            if count == capacity {
                let grown = UnsafeMutablePointer<TrackedKey>.allocate(capacity: capacity * 2)
                grown.moveInitialize(from: base, count: count)
                base.deallocate()
                base = grown
                capacity *= 2
            }
            (base + count).initialize(to: key)
            count += 1
        }

        func copy() -> TrackedKeys {
            let other = TrackedKeys(capacity: capacity)
            other.base.initialize(from: base, count: count)
            other.count = count
            return other
        }

        subscript(slot: Int) -> TrackedKey {
            precondition(slot >= 0 && slot < count, "key slot out of range")
            return base[slot]
        }

        /// The key at `slot`, to change in place; valid until the next `append`.
        func pointer(_ slot: Int) -> UnsafeMutablePointer<TrackedKey> {
            precondition(slot >= 0 && slot < count, "key slot out of range")
            return base + slot
        }
    }
}
