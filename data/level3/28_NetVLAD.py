"""NetVLAD pooling: soft-assign local descriptors to clusters and aggregate residuals."""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 16
num_features = 196
feature_size = 512
cluster_size = 32


class Model(nn.Module):
    def __init__(self, cluster_size, feature_size):
        super().__init__()
        self.cluster_size = cluster_size
        self.feature_size = feature_size
        init_sc = 1.0 / feature_size ** 0.5
        self.clusters = nn.Parameter(init_sc * torch.randn(feature_size, cluster_size))
        self.batch_norm = nn.BatchNorm1d(cluster_size)
        self.cluster_centers = nn.Parameter(init_sc * torch.randn(1, feature_size, cluster_size))

    def forward(self, x):
        # x: [b, n, d] local descriptors
        b, n, d = x.shape
        flat = x.reshape(b * n, d)
        assignment = torch.matmul(flat, self.clusters)           # [b*n, k]
        assignment = self.batch_norm(assignment)
        assignment = F.softmax(assignment, dim=1)
        assignment = assignment.view(b, n, self.cluster_size)    # [b, n, k]
        a_sum = assignment.sum(dim=1, keepdim=True)              # [b, 1, k]
        a = a_sum * self.cluster_centers                         # [b, d, k]
        vlad = torch.matmul(assignment.transpose(1, 2), x)       # [b, k, d]
        vlad = vlad.transpose(1, 2) - a                          # [b, d, k]
        vlad = F.normalize(vlad, dim=1)                          # intra-normalization
        vlad = vlad.reshape(b, self.cluster_size * d)
        return F.normalize(vlad, dim=1)


def get_inputs():
    return [torch.randn(batch_size, num_features, feature_size)]


def get_init_inputs():
    return [cluster_size, feature_size]
