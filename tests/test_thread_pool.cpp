// The forwards' thread pool (runtime/thread_pool.h): every task of a job runs exactly
// once, whatever the thread count, when callers overlap, when a task calls back in, in a
// child process after fork(); a task's exception reaches parallel_for's caller. The tsan preset
// runs these too.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parallel.h"
#include "thread_pool.h"

namespace {

using qembed::detail::thread_pool;

struct Counts {
  std::vector<std::atomic<int>> runs;
  explicit Counts(int tasks) : runs(static_cast<size_t>(tasks)) {}
  static void task(void* self, int t) {
    static_cast<Counts*>(self)->runs[static_cast<size_t>(t)].fetch_add(1);
  }
  void expect_each_once(const char* what) const {
    for (size_t t = 0; t < runs.size(); ++t) {
      ASSERT_EQ(runs[t].load(), 1) << what << ": task " << t << " of " << runs.size();
    }
  }
};

TEST(ThreadPool, RunsEveryTaskOnceAtEveryThreadCount) {
  for (int threads : {2, 3, 8, 1, 5}) {  // resizes between jobs, back down to one and up
    for (int tasks : {2, 3, 7, 64, 257}) {
      for (int rep = 0; rep < 20; ++rep) {
        Counts c(tasks);
        thread_pool().run(tasks, threads, &Counts::task, &c);
        c.expect_each_once("sequential jobs");
      }
    }
  }
}

TEST(ThreadPool, OverlappingCallersAndNestedCallsEachRunTheirTasksOnce) {
  // Callers that find the pool busy run their own tasks inline.
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] {
      for (int rep = 0; rep < 100; ++rep) {
        const int tasks = 5 + (i + rep) % 40;
        Counts c(tasks);
        thread_pool().run(tasks, 4, &Counts::task, &c);
        for (auto& r : c.runs) failures += r.load() != 1;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);

  Counts outer(8);
  std::vector<std::unique_ptr<Counts>> inner;
  for (int t = 0; t < 8; ++t) inner.push_back(std::make_unique<Counts>(6));
  qembed::detail::parallel_for(8, [&](int t) {
    Counts::task(&outer, t);
    thread_pool().run(6, 4, &Counts::task, inner[static_cast<size_t>(t)].get());
  });
  outer.expect_each_once("outer job");
  for (const auto& c : inner) c->expect_each_once("job started by a task");
}

TEST(ThreadPool, ParallelForRethrowsATasksExceptionAfterEveryTaskRan) {
  qembed::set_num_threads(4);
  std::atomic<int> ran{0};
  EXPECT_THROW(qembed::detail::parallel_for(16,
                                            [&](int t) {
                                              ran.fetch_add(1);
                                              if (t == 5) throw std::runtime_error("task 5");
                                            }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 16);
  qembed::set_num_threads(0);
}

// A child of fork() (Python's multiprocessing, a DataLoader worker) has none of the
// parent's worker threads: its first parallel job must not wait for them.
TEST(ThreadPool, AChildProcessAfterForkRunsParallelJobs) {
  Counts warm(16);
  thread_pool().run(16, 4, &Counts::task, &warm);  // the parent's workers exist
  warm.expect_each_once("parent");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);  // a hang becomes a failure
    for (int rep = 0; rep < 10; ++rep) {
      Counts c(16);
      thread_pool().run(16, 4, &Counts::task, &c);
      for (auto& r : c.runs) {
        if (r.load() != 1) _exit(1);
      }
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  Counts after(16);
  thread_pool().run(16, 4, &Counts::task, &after);
  after.expect_each_once("parent after the fork");
}

}  // namespace
