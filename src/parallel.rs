//! The one way meshgen spreads work over threads (`generate`'s plan and its writes): as many
//! scoped threads as the machine runs at once, never more than there are items, each taking
//! the next item not yet taken, so that a thread that drew cheap items takes more of them.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work` on each thread with its share of `items` (each item once, with its index, on
/// whichever thread asks for it first) and returns each thread's result, in thread order.
/// Callers that need the items' order sort by index. `what` names the work in the panic
/// message should a thread panic.
pub fn split<T, R>(
    items: &[T],
    what: &str,
    work: impl Fn(&mut dyn Iterator<Item = (usize, &T)>) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().max(1));
    if threads > 1 {
        crate::alloc::spread_over_threads();
    }
    // Handing items out one at a time, not every n-th to thread n: in a fleet cycling through
    // six kinds of platform, a fixed split gave one thread all the extra-gateway renders.
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (work, next) = (&work, &next);
                scope.spawn(move || {
                    work(&mut std::iter::from_fn(|| {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        items.get(i).map(|item| (i, item))
                    }))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| panic!("a {what} panicked")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_on_some_thread() {
        let items: Vec<usize> = (0..103).collect();
        let shares = split(&items, "test", |share| {
            share.map(|(i, item)| (i, *item)).collect::<Vec<_>>()
        });
        let mut seen: Vec<(usize, usize)> = shares.into_iter().flatten().collect();
        seen.sort();
        assert_eq!(seen, items.iter().map(|&i| (i, i)).collect::<Vec<_>>());
        assert_eq!(split(&[] as &[u8], "test", |share| share.count()), [0]);
    }
}
