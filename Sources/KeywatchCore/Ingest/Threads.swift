import Foundation

/// Runs `body` on a new, dedicated thread.
///
/// Pipeline stages block on semaphores for their whole life, so they must not sit on the shared
/// Dispatch pool: on a 2-core machine it gives them too few threads, and stages would wait for
/// each other forever.
func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.name = name
    thread.stackSize = 1 << 20
    thread.start()
}
