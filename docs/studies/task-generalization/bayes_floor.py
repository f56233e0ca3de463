# Reference losses for in-context Parity(6, 2) with CoT, 10 demonstrations and a query (11 examples,
# 2 answer tokens each): the mean cross-entropy per answer token of Bayes-optimal predictors, by Monte
# Carlo. The posterior over secrets is updated after every answer token (c1 = x_s1, c2 = c1 XOR x_s2).
# Usage: python3 docs/studies/task-generalization/bayes_floor.py
import itertools, math, random

d, examples, samples = 6, 11, 20000
# The split of the 15 tasks with split seed 1 (ParityInContextTask.TrainingTaskSets / HeldOutTaskSets).
train = [(4, 5), (0, 2), (1, 4), (2, 3), (0, 5), (0, 4), (3, 4), (0, 1), (3, 5), (0, 3), (1, 2)]
held_out = [(1, 5), (1, 3), (2, 4), (2, 5)]
every = list(itertools.combinations(range(d), 2))
rng = random.Random(1)


def mean_loss(prior, tasks, second_at_chance=False):
    total = 0.0
    for _ in range(samples):
        secret = rng.choice(tasks)
        consistent, loss = list(prior), 0.0
        for _ in range(examples):
            x = [rng.randrange(2) for _ in range(d)]
            c1 = x[secret[0]]
            c2 = c1 ^ x[secret[1]]
            loss -= math.log(sum(x[t[0]] == c1 for t in consistent) / len(consistent))
            consistent = [t for t in consistent if x[t[0]] == c1]
            if second_at_chance:
                loss += math.log(2)
                continue
            loss -= math.log(sum((x[t[0]] ^ x[t[1]]) == c2 for t in consistent) / len(consistent))
            consistent = [t for t in consistent if (x[t[0]] ^ x[t[1]]) == c2]
        total += loss / (2 * examples)
    return total / samples


print("first step solved, second at chance:", round(mean_loss(every, train, second_at_chance=True), 3))
print("both solved, posterior over all 15 tasks (training tasks):", round(mean_loss(every, train), 3))
print("both solved, posterior over all 15 tasks (held-out tasks):", round(mean_loss(every, held_out), 3))
print("both solved, posterior over the 11 training tasks (training tasks):", round(mean_loss(train, train), 3))
